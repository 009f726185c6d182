import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Event } from "./gen/oma/v1/event_pb.js";
import type { SessionService } from "./gen/oma/v1/session_service_pb.js";
import { backoffDelay, isTransientFailure, sleep, type BackoffOptions } from "./backoff.js";
import { reasonOf } from "./errors.js";

/** Why a watch is about to reconnect, and when. */
export interface WatchReconnect {
  /** Consecutive failures so far (1 for the first reconnect after a healthy stream). */
  attempt: number;
  /** The wait before reconnecting. */
  delayMs: number;
  /** The seq the next stream resumes after. */
  afterSeq: bigint;
  /** What ended the previous stream: an error, or undefined when it ended cleanly. */
  error: unknown;
}

export interface WatchOptions {
  /** Yield events with a greater seq. Default 0: the whole log. */
  afterSeq?: bigint | number;
  /** Aborting ends the iteration quietly (no error), also in the middle of a backoff wait. */
  signal?: AbortSignal;
  /** Delays between reconnects. */
  backoff?: BackoffOptions;
  /**
   * Consecutive failed streams after which the watch gives up and throws the last error.
   * Default: unlimited — a watch outlives server restarts of any length. A stream that
   * delivers anything resets the count.
   */
  maxConsecutiveFailures?: number;
  /**
   * A stream that delivers nothing — no event, no heartbeat — for this long is taken as a
   * dead connection and reopened. Default 45 000 ms: three of the server's default 15 s
   * heartbeat intervals (SESS-13). 0 turns the check off.
   */
  idleTimeoutMs?: number;
  /** Called with the head seq each time a (re)connected stream finishes its replay (SESS-12). */
  onCaughtUp?: (headSeq: bigint) => void;
  /** Called before each reconnect. */
  onReconnect?: (info: WatchReconnect) => void;
}

/** Three of the server's default 15 s heartbeat intervals (SESS-13). */
export const defaultWatchIdleTimeoutMs = 45_000;

/**
 * Every event of a session after `afterSeq`, then live ones, for as long as the caller
 * iterates: each seq exactly once and in order, across reconnects (SESS-12). When a stream
 * breaks — the server restarts, the network drops, or the server ends a slow watcher with
 * RESOURCE_EXHAUSTED / WATCHER_TOO_SLOW (SESS-13) — it reconnects with backoff and resumes
 * after the last seq it yielded.
 *
 * It reconnects on transport faults (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, UNKNOWN or
 * INTERNAL without an OMA reason), on WATCHER_TOO_SLOW, on a server-side CANCELED and on a
 * stream that ends without error. Any other error — NOT_FOUND (unknown or deleted session),
 * INVALID_ARGUMENT, OUT_OF_RANGE, UNAUTHENTICATED, PERMISSION_DENIED, … — is an answer, and
 * is thrown from the iterator. Leaving the loop (break/return) closes the stream.
 */
export async function* watchEvents(
  client: Pick<Client<typeof SessionService>, "watchEvents">,
  sessionId: string,
  options: WatchOptions = {},
): AsyncGenerator<Event, void, undefined> {
  const maxFailures = options.maxConsecutiveFailures ?? Number.POSITIVE_INFINITY;
  const idleTimeoutMs = options.idleTimeoutMs ?? defaultWatchIdleTimeoutMs;
  let lastSeq = BigInt(options.afterSeq ?? 0);
  let failures = 0;
  while (!options.signal?.aborted) {
    // One controller per stream, so leaving the loop or a detected gap closes exactly it.
    const stream = new AbortController();
    const forwardAbort = () => stream.abort();
    options.signal?.addEventListener("abort", forwardAbort, { once: true });
    let streamError: unknown;
    let idle = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const armIdleTimer = () => {
      if (idleTimeoutMs <= 0) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        stream.abort();
      }, idleTimeoutMs);
    };
    try {
      armIdleTimer();
      for await (const res of client.watchEvents({ sessionId, afterSeq: lastSeq }, { signal: stream.signal })) {
        armIdleTimer();
        failures = 0;
        const msg = res.message;
        if (msg.case === "caughtUp") options.onCaughtUp?.(msg.value.headSeq);
        if (msg.case !== "event") continue;
        const seq = msg.value.seq;
        if (seq <= lastSeq) continue;
        if (seq !== lastSeq + 1n) {
          streamError = new ConnectError(`watch skipped from seq ${lastSeq} to ${seq}; resuming`, Code.DataLoss);
          break;
        }
        lastSeq = seq;
        // The caller's time with the event does not count as silence of the stream.
        clearTimeout(idleTimer);
        yield msg.value;
        armIdleTimer();
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      if (idle) streamError = new ConnectError(`watch stream silent for ${idleTimeoutMs} ms; reopening`, Code.DeadlineExceeded, undefined, undefined, err);
      else if (!shouldReconnect(err)) throw err;
      else streamError = err;
    } finally {
      clearTimeout(idleTimer);
      options.signal?.removeEventListener("abort", forwardAbort);
      stream.abort();
    }
    failures += 1;
    if (failures > maxFailures) throw streamError ?? new ConnectError("watch stream kept ending", Code.Unavailable);
    const delayMs = backoffDelay(failures - 1, options.backoff);
    options.onReconnect?.({ attempt: failures, delayMs, afterSeq: lastSeq, error: streamError });
    if (!(await sleep(delayMs, options.signal))) return;
  }
}

function shouldReconnect(err: unknown): boolean {
  if (isTransientFailure(err)) return true;
  if (!(err instanceof ConnectError)) return false;
  return err.code === Code.ResourceExhausted && reasonOf(err) === "WATCHER_TOO_SLOW";
}
