import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { ID_PATTERN } from "../harness/harness-options.js";
import { modelRetryPolicy, withModelOptions, type ModelFlags } from "./model-options.js";
import { createLogger } from "../logger.js";
import { parsePositive } from "./serve-options.js";
import { resolveToken, serverUrl, withConnectionOptions, type ConnectionFlags } from "./connection.js";

interface WorkerFlags extends ConnectionFlags, ModelFlags {
  capacity: number;
  id?: string;
  leaseTtlMs?: number;
  eagerSandbox?: boolean;
}

/** The message `oma worker` and `oma run` print when no model credentials are set. */
export const MISSING_KEY_MESSAGE =
  "ANTHROPIC_API_KEY is not set. Set it to your Anthropic API key (export ANTHROPIC_API_KEY=sk-ant-...); " +
  "set ANTHROPIC_BASE_URL too to use another Messages API endpoint.";

/** How long a worker whose server died lets its brains stop before it exits anyway. */
const ORPHAN_EXIT_MS = 2_000;

function parseId(value: string): string {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError("must be 1-128 characters of [A-Za-z0-9._-], not starting with '.' or '-'");
  return value;
}

/** `oma worker`: a brain worker process that serves a server's HarnessService assignments. */
export function registerWorkerCommand(program: Command): void {
  withModelOptions(withConnectionOptions(program.command("worker"), { tenant: false }))
    .description("run brains for an OMA server: connect to its HarnessService and work on the sessions it assigns (with a worker token)")
    .option("--capacity <n>", "brains to run at once (a brain mostly waits on the model: hundreds fit in one process)", parsePositive, 512)
    .option("--id <id>", "worker id (default: host name plus random suffix)", parseId)
    .option("--lease-ttl-ms <ms>", "lease TTL for renewals (default: the TTL the server grants)", parsePositive)
    .option("--eager-sandbox", "provision the sandbox before the first model call instead of on the first tool call")
    .action(async (flags: WorkerFlags) => {
      const log = createLogger({ name: "oma-worker" });
      if (!process.env["ANTHROPIC_API_KEY"] && !process.env["ANTHROPIC_AUTH_TOKEN"]) {
        process.stderr.write(`${MISSING_KEY_MESSAGE}\n`);
        process.exit(2);
      }
      const workerId = flags.id ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[.-]+/, "") || "worker"}-${randomBytes(3).toString("hex")}`;
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      process.once("SIGTERM", () => abort.abort());
      // A local worker of `oma serve` has an IPC channel to its server: when that closes
      // (the server exited, even by SIGKILL) the worker stops too. A worker started by
      // hand has none and keeps reconnecting to its server.
      // (process.channel is gone once the channel has closed; process.send stays.)
      if (typeof process.send === "function") {
        const orphaned = () => {
          log.warn({ workerId }, "the server that started this worker is gone; stopping");
          abort.abort();
          // Brains stop at their next step; a step that hangs on the dead server must not keep the worker alive.
          setTimeout(() => process.exit(0), ORPHAN_EXIT_MS).unref();
        };
        // The channel may have closed while this process was still loading.
        if (!process.connected) orphaned();
        else process.once("disconnect", orphaned);
      }
      const [{ runWorker }, { startTracing }] = await Promise.all([import("../harness/worker/worker.js"), import("../telemetry/tracing.js")]);
      const tracing = await startTracing({ serviceName: "oma-worker", logger: log, asyncContext: false });
      const url = serverUrl(flags);
      await runWorker({
        serverUrl: url,
        token: resolveToken(flags, url),
        workerId,
        capacity: flags.capacity,
        logger: log,
        retry: modelRetryPolicy(flags),
        leaseTtlMs: flags.leaseTtlMs,
        eagerSandbox: flags.eagerSandbox ?? false,
        // Machine-readable readiness line for scripts and tests that start workers.
        onConnected: () => process.stdout.write(`OMA_WORKER_CONNECTED ${workerId}\n`),
        signal: abort.signal,
        tracing: tracing !== undefined,
      });
      await tracing?.shutdown();
      process.exit(0);
    });
}
