import Anthropic from "@anthropic-ai/sdk";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createOmaClient, GrpcJsChannel, SessionCredential } from "@oma/client/node";
import type { WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { ToolDescription } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../logger.js";
import { durationMs } from "../duration.js";
import { fromInt64 } from "../int64.js";
import { traceContextInterceptor } from "../../telemetry/trace-propagation.js";
import { runBrain } from "./brain.js";
import { newTraceCursor, traceBrain } from "./brain-tracing.js";
import type { ModelRetryPolicy } from "./model-retry-policy.js";

export interface WorkerOptions {
  readonly serverUrl: string;
  /** The worker token (role worker, or admin); undefined against a server without authentication. */
  readonly token?: string;
  readonly workerId: string;
  /** Brains run at once. */
  readonly capacity: number;
  readonly logger: Logger;
  readonly retry: ModelRetryPolicy;
  /** Lease TTL used for renewals; unset: the TTL the server granted with the assignment. */
  readonly leaseTtlMs?: number;
  readonly eagerSandbox?: boolean;
  /** Called once per (re)connection, when the server has registered the worker. */
  readonly onConnected?: () => void;
  /** Ends the worker: no new assignments, and running brains stop and hand their sessions on. */
  readonly signal: AbortSignal;
  /** Carry the trace context on every call (when an OpenTelemetry SDK was started). */
  readonly tracing?: boolean;
}

/** Reconnect backoff of the ConnectWorker stream. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A stream with no message (the server heartbeats every 5 s by default) for this long is reopened. */
const SILENCE_LIMIT_MS = 20_000;
/** Lease TTL bounds of SESS-16. */
const MIN_TTL_MS = 1_000;
const MAX_TTL_MS = 600_000;

/**
 * The TTL a brain renews its lease with: the one the server granted (lease_ttl). A server
 * that does not send it is older; then the time left on the lease, by this host's clock,
 * rounded to 100 ms. Either is held to SESS-16's bounds.
 */
export function grantedTtlMs(a: WorkAssignment, now = Date.now()): number {
  const granted = a.leaseTtl ? durationMs(a.leaseTtl) : a.leaseExpireTime ? Math.round((timestampMs(a.leaseExpireTime) - now) / 100) * 100 : 30_000;
  return Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, granted));
}

/**
 * A worker process (HARN-3): holds a ConnectWorker stream open, reconnecting when it
 * breaks, and runs one brain per assignment. When `signal` aborts it stops: brains stop
 * at their next step and release their leases, and it returns once they have. It reaches the server only through the
 * public SessionService and SandboxService; model credentials come from its own
 * environment (HARN-14).
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  // One connection for the worker's own stream and every brain's calls, each brain with
  // its own session token: a channel per brain would cost each session its setup, and
  // grpc-js keeps a channel registered until it is closed.
  const channel = new GrpcJsChannel(options.serverUrl);
  try {
    await serve(options, channel);
  } finally {
    channel.close();
  }
}

async function serve(options: WorkerOptions, channel: GrpcJsChannel): Promise<void> {
  const worker = createOmaClient({ channel, ...(options.token ? { token: options.token } : {}) });
  const { harness } = worker;
  // The brain retries (model-retry-policy.ts) and traces each model call itself (its `chat`
  // span, brain-tracing.ts). The SDK's own span would start a trace of its own: without a
  // context manager it cannot see the chat span it belongs under.
  const model = new Anthropic({ maxRetries: 0, openTelemetry: false });
  const log = options.logger.child({ workerId: options.workerId });
  let toolsCache: Promise<readonly ToolDescription[]> | undefined;
  const sandboxTools = () => {
    toolsCache ??= worker.sandboxes.listTools({}).then(
      (r) => r.tools,
      (err: unknown) => {
        toolsCache = undefined;
        throw err;
      },
    );
    return toolsCache;
  };
  const running = new Set<Promise<unknown>>();

  const start = (a: WorkAssignment) => {
    const ttl = options.leaseTtlMs ?? grantedTtlMs(a);
    // The brain reaches its session with the assignment's session token alone (SEC-4),
    // kept fresh by its lease renewals.
    const credential = new SessionCredential(a.sessionToken || (options.token ?? ""));
    const trace = newTraceCursor();
    const { sessions: session, sandboxes: sandbox } = createOmaClient({
      channel,
      ...(credential.token ? { token: () => credential.token } : {}),
      interceptors: [credential.interceptor, ...(options.tracing ? [traceContextInterceptor(() => trace.context)] : [])],
    });
    const assignment = { harnessId: a.harnessId, sessionId: a.sessionId, epoch: fromInt64(a.leaseEpoch), leaseTtlMs: ttl };
    // The brain's spans continue the trace of the Wake that started it.
    const brain = traceBrain({ ...assignment, workerId: options.workerId, traceContext: a.traceContext }, trace, () =>
      runBrain(assignment, {
        session, sandbox, model, workerId: options.workerId, retry: options.retry, logger: log, sandboxTools, eagerSandbox: options.eagerSandbox, stop: options.signal, trace,
        mcpProxy: { baseUrl: options.serverUrl, token: () => credential.token },
      }),
    )
      .then((end) => log.info({ sessionId: a.sessionId, harnessId: a.harnessId, end }, "brain finished"))
      .catch((err: unknown) => log.error({ err, sessionId: a.sessionId }, "brain crashed"))
      .finally(() => running.delete(brain));
    running.add(brain);
  };

  let backoff = RECONNECT_MIN_MS;
  while (!options.signal.aborted) {
    // A connection that went silent (no heartbeat for a while) is dropped and reopened.
    const silent = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => silent.abort(), SILENCE_LIMIT_MS);
    };
    try {
      feed();
      const stream = harness.connectWorker(
        { workerId: options.workerId, capacity: options.capacity, labels: { host: hostname(), pid: String(process.pid), runtime: `node ${process.version}` } },
        { signal: AbortSignal.any([options.signal, silent.signal]) },
      );
      let greeted = false;
      for await (const msg of stream) {
        feed();
        if (!greeted) {
          greeted = true;
          backoff = RECONNECT_MIN_MS;
          log.info({ server: options.serverUrl, capacity: options.capacity }, "worker connected");
          options.onConnected?.();
        }
        if (msg.message.case === "assignment") {
          log.info({ sessionId: msg.message.value.sessionId, harnessId: msg.message.value.harnessId }, "assignment");
          start(msg.message.value);
        }
      }
    } catch (err) {
      if (options.signal.aborted) break;
      log.warn({ err: (err as Error).message, retryInMs: backoff }, "worker stream broke; reconnecting");
    } finally {
      clearTimeout(watchdog);
    }
    await sleep(backoff, undefined, { signal: options.signal }).catch(() => undefined);
    backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
  }
  await Promise.allSettled([...running]);
}
