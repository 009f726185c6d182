import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { CaseContext } from "../runner/case.js";
import { CaseFailure } from "../runner/assertions.js";
import type { RpcClient } from "../client/rpc-client.js";
import { RpcFailure } from "../client/rpc-failure.js";

/** What a watch delivered before the collector stopped it. */
export interface WatchLog {
  readonly events: Event[];
  /** The head of each caught_up, in arrival order. */
  readonly caughtUp: number[];
  readonly heartbeats: number[];
  /** Index into `events` at which each caught_up arrived. */
  readonly caughtUpAt: number[];
  /** The error the stream ended with, if it ended on its own with one. */
  error?: RpcFailure;
  /** True when the stream ended by itself without error. */
  ended: boolean;
}

export interface WatchOptions {
  readonly afterSeq?: number;
  /** Stops (cancels) the watch when this returns true. */
  readonly until: (log: WatchLog) => boolean;
  /** Bound on the whole watch, ms (scaled); the case fails if `until` is not reached. */
  readonly withinMs: number;
  /** Called after each message; lets a case act mid-stream (append, pause …). */
  readonly onMessage?: (log: WatchLog) => Promise<void> | void;
  readonly client?: RpcClient;
  readonly timeoutMs?: number;
  /** A deadline only the server is told of (CallOptions.serverTimeoutMs). */
  readonly serverTimeoutMs?: number;
  /** Returns the log instead of failing when the stream ends early or with an error. */
  readonly allowEnd?: boolean;
}

/** Watches a session and collects messages until `until` holds; every wait is bounded. */
export async function watch(ctx: CaseContext, sessionId: string, options: WatchOptions): Promise<WatchLog> {
  const log: WatchLog = { events: [], caughtUp: [], heartbeats: [], caughtUpAt: [], ended: false };
  const stop = new AbortController();
  const onCaseAbort = () => stop.abort();
  ctx.signal.addEventListener("abort", onCaseAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, ctx.scaled(options.withinMs));
  const rpc = options.client ?? ctx.rpc;
  try {
    const stream = rpc.serverStream(
      SessionService.method.watchEvents,
      { sessionId, afterSeq: BigInt(options.afterSeq ?? 0) },
      {
        signal: stop.signal,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.serverTimeoutMs === undefined ? {} : { serverTimeoutMs: options.serverTimeoutMs }),
      },
    );
    for await (const msg of stream) {
      if (msg.message.case === "event") log.events.push(msg.message.value);
      else if (msg.message.case === "caughtUp") {
        log.caughtUp.push(Number(msg.message.value.headSeq));
        log.caughtUpAt.push(log.events.length);
      } else if (msg.message.case === "heartbeat") log.heartbeats.push(Number(msg.message.value.headSeq));
      await options.onMessage?.(log);
      if (options.until(log)) return log;
    }
    log.ended = true;
  } catch (err) {
    if (stop.signal.aborted) {
      if (timedOut) throw new CaseFailure(`watch of ${sessionId} did not reach its goal within ${options.withinMs} ms (got ${log.events.length} events, caught_up ${JSON.stringify(log.caughtUp)})`);
      throw err;
    }
    if (!(err instanceof RpcFailure)) throw err;
    log.error = err;
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onCaseAbort);
    stop.abort();
  }
  if (!options.allowEnd) {
    throw new CaseFailure(`watch of ${sessionId} ended before its goal: ${log.error ? log.error.describe() : "stream closed"} after ${log.events.length} events`);
  }
  return log;
}
