import type { Command } from "commander";
import { createLogger } from "../logger.js";
import { InvalidArgumentError } from "commander";
import { parseCount, parsePort, resolveDataDir, resolvePort } from "./serve-options.js";
import { isLoopbackUrl } from "./connection.js";
import { MISSING_KEY_MESSAGE } from "./worker-command.js";
import { modelArgs, withModelOptions, type ModelFlags } from "./model-options.js";

interface ServeFlags extends ModelFlags {
  port?: number;
  host: string;
  dataDir?: string;
  sandboxBackend?: string;
  workers: number;
  leaseTtlMs?: number;
  auth: string;
  faultStorageDelayMs?: number;
  allowLoopbackUpstreams?: boolean;
  store?: string;
  advertiseUrl?: string;
}

/** `oma serve`: the reference server on LevelDB with a working sandbox backend. */
export function registerServeCommand(program: Command): void {
  const serve = program
    .command("serve", { isDefault: true })
    .description("run the reference server (SessionService, HarnessService, SandboxService) on one port")
    .option("-p, --port <port>", "port to listen on (env OMA_PORT; default 7070)", parsePort)
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--data-dir <dir>", "LevelDB data directory (env OMA_DATA_DIR; default ~/.local/share/oma)")
    .option("--store <url>", "the session log, tokens and credentials on a NATS JetStream cluster shared by several servers: nats://HOST:PORT[,nats://…] (its nodes need max_payload: 2MB; every server needs the same OMA_VAULT_KEY; default: LevelDB in the data dir)", parseStoreUrl)
    .option("--advertise-url <url>", "with --store: the URL the other servers reach this one at, to forward calls for its sandboxes (default: the URL it listens on)", parseAdvertiseUrl)
    .option("--sandbox-backend <name>", "default sandbox backend: docker, bubblewrap or process (env OMA_SANDBOX_BACKEND; default: the best that works)")
    .option("--workers <n>", "local brain worker processes to start (0: none; workers can also run anywhere with `oma worker`)", parseCount, 2)
    .option("--lease-ttl-ms <ms>", "TTL of the lease a woken brain gets (default 30000)", parseCount)
    .option("--auth <mode>", "tokens: every call needs a bearer token; none: no authentication (development only, loopback only)", parseAuthMode, "tokens")
    .option("--fault-storage-delay-ms <ms>", "fault injection for conformance testing only (SESS-5): hold every write of the session log this long before and after it is durable, so a kill -9 lands inside it", parseCount)
    .option("--allow-loopback-upstreams", "let repositories, MCP servers and allow-listed hosts be on this machine: its loopback or its interfaces' addresses (env OMA_ALLOW_LOOPBACK_UPSTREAMS=1; default: refused, so no tenant reaches this machine's own services)");
  // The model flags are those of `oma worker`, handed on to the local workers.
  withModelOptions(serve).action(async (flags: ServeFlags) => {
      if (flags.auth === "none" && !isLoopbackUrl(`http://${flags.host.includes(":") ? `[${flags.host}]` : flags.host}`)) {
        process.stderr.write(`oma serve: --auth none is refused with --host ${flags.host}: without authentication the server may only listen on a loopback address\n`);
        process.exit(2);
      }
      if (flags.advertiseUrl && !flags.store) {
        process.stderr.write("oma serve: --advertise-url is the URL the other servers of a shared store reach this one at; it needs --store nats://…\n");
        process.exit(2);
      }
      // Loaded here so that the other verbs start without loading the whole server.
      const [{ startApp }, { startWorkerPool }, { OmaMetrics }, { startTracing }] = await Promise.all([
        import("../app.js"),
        import("./worker-pool.js"),
        import("../telemetry/metrics.js"),
        import("../telemetry/tracing.js"),
      ]);
      const log = createLogger({ name: "oma-server" });
      // Only with OTEL_EXPORTER_OTLP_ENDPOINT; the local workers inherit the environment and trace too.
      // Handlers get their call's trace context explicitly (Call.trace): no AsyncLocalStorage.
      const tracing = await startTracing({ serviceName: "oma-server", logger: log, asyncContext: false });
      const dataDir = resolveDataDir(flags.dataDir);
      const server = await startApp({ port: resolvePort(flags.port), host: flags.host, logger: log, dataDir, sandboxBackend: flags.sandboxBackend, auth: flags.auth as "tokens" | "none",
        metrics: new OmaMetrics({ processMetrics: true }),
        tracing: tracing !== undefined,
        allowLoopbackUpstreams: flags.allowLoopbackUpstreams === true || process.env["OMA_ALLOW_LOOPBACK_UPSTREAMS"] === "1",
        ...(flags.leaseTtlMs ? { harness: { leaseTtlMs: flags.leaseTtlMs } } : {}),
        ...(flags.faultStorageDelayMs ? { faultStorageDelayMs: flags.faultStorageDelayMs } : {}),
        ...(flags.store ? { store: flags.store } : {}),
        ...(flags.advertiseUrl ? { advertiseUrl: flags.advertiseUrl } : {}),
      });
      log.info({ url: server.url, dataDir, sessionStore: server.sessionStore }, "oma server listening");
      // Machine-readable readiness line for scripts and tests that start the server.
      process.stdout.write(`OMA_LISTENING ${server.url}\n`);
      const haveKey = Boolean(process.env["ANTHROPIC_API_KEY"] || process.env["ANTHROPIC_AUTH_TOKEN"]);
      if (flags.workers > 0 && !haveKey) log.warn(`no local workers started: ${MISSING_KEY_MESSAGE}`);
      const pool = flags.workers > 0 && haveKey ? startWorkerPool({ serverUrl: server.url, token: await server.localWorkerToken(), count: flags.workers, logger: log, extraArgs: modelArgs(flags) }) : undefined;
      const stop = async (signal: string) => {
        log.info({ signal }, "shutting down");
        // Brains of the local workers stop and release their leases while the server still
        // answers; the next server resumes their sessions at once (their records say so).
        await server.stopDispatching();
        await pool?.close();
        await server.close();
        await tracing?.shutdown();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
}

function parseAdvertiseUrl(value: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) {
    throw new InvalidArgumentError(`--advertise-url takes http://HOST:PORT or https://HOST:PORT, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
}

function parseStoreUrl(value: string): string {
  const urls = value.split(",").map((s) => s.trim());
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.protocol !== "nats:" || !parsed.hostname || !parsed.port) {
      throw new InvalidArgumentError(`--store takes nats://HOST:PORT[,nats://HOST:PORT…], got "${url}"`);
    }
  }
  return urls.join(",");
}

function parseAuthMode(value: string): string {
  if (value !== "tokens" && value !== "none") throw new InvalidArgumentError(`--auth is "tokens" or "none", got "${value}"`);
  return value;
}
