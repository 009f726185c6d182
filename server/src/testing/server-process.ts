import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { bearerAuth } from "@oma/client";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

/** The compiled CLI; tests that start a server process need `tsc -b` first. */
export const CLI_PATH = fileURLToPath(new URL("../cli/main.js", import.meta.url).href.replace("/src/cli/", "/dist/cli/"));

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The admin token the server wrote to `<dataDir>/admin.token`. */
  readonly adminToken: string;
  /** A gRPC client of this server with the admin token (one HTTP/2 connection per process). */
  client<T extends DescService>(service: T): Client<T>;
  /** SIGKILL, and resolve once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), and resolve once the process is gone. */
  stop(): Promise<void>;
}

/**
 * `oma serve --port PORT --data-dir DIR` as a child process (port 0: a free one); resolves
 * with the URL from its `OMA_LISTENING <url>` line, or, if it exits or says nothing within
 * `timeoutMs`, kills it and rejects.
 */
export async function startServerProcess(dataDir: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; args?: string[]; port?: number } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI_PATH, "serve", "--port", String(options.port ?? 0), "--data-dir", dataDir, ...(options.args ?? [])], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, OMA_LOG_LEVEL: "warn", ...options.env },
  });
  const exited = once(child, "exit");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within ${options.timeoutMs ?? 15_000} ms`));
    }, options.timeoutMs ?? 15_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = /^OMA_LISTENING (\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before listening`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const adminToken = (await readFile(join(dataDir, "admin.token"), "utf8").catch(() => "")).trim();
  const transport = createGrpcTransport({ baseUrl: url, interceptors: adminToken ? [bearerAuth(adminToken)] : [] });
  return { url, pid: child.pid!, child, adminToken, client: (service) => createClient(service, transport), kill: () => end("SIGKILL"), stop: () => end("SIGTERM") };
}
