import type { Command } from "commander";
import { createLogger } from "../logger.js";
import { startApp } from "../app.js";
import { parsePort, resolveDataDir, resolvePort } from "./serve-options.js";

interface ServeFlags {
  port?: number;
  host: string;
  dataDir?: string;
  sandboxBackend?: string;
}

/** `oma serve`: the reference server on LevelDB with a working sandbox backend. */
export function registerServeCommand(program: Command): void {
  program
    .command("serve", { isDefault: true })
    .description("run the reference server (SessionService, HarnessService, SandboxService) on one port")
    .option("-p, --port <port>", "port to listen on (env OMA_PORT; default 7070)", parsePort)
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--data-dir <dir>", "LevelDB data directory (env OMA_DATA_DIR; default ~/.local/share/oma)")
    .option("--sandbox-backend <name>", "default sandbox backend: docker, bubblewrap or process (env OMA_SANDBOX_BACKEND; default: the best that works)")
    .action(async (flags: ServeFlags) => {
      const log = createLogger({ name: "oma-server" });
      const dataDir = resolveDataDir(flags.dataDir);
      const server = await startApp({ port: resolvePort(flags.port), host: flags.host, logger: log, dataDir, sandboxBackend: flags.sandboxBackend });
      log.info({ url: server.url, dataDir }, "oma server listening");
      // Machine-readable readiness line for scripts and tests that start the server.
      process.stdout.write(`OMA_LISTENING ${server.url}\n`);
      const stop = async (signal: string) => {
        log.info({ signal }, "shutting down");
        await server.close();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
}
