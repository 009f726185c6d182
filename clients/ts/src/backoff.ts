import { Code, ConnectError } from "@connectrpc/connect";
import { omaErrorInfo } from "./errors.js";

/** Exponential backoff with full jitter between reconnects or retries. */
export interface BackoffOptions {
  /** Upper bound of the first delay. Default 100 ms. */
  initialDelayMs?: number;
  /** Upper bound of any delay. Default 5 000 ms. */
  maxDelayMs?: number;
  /** Growth factor per consecutive failure. Default 2. */
  multiplier?: number;
}

export const defaultBackoff: Required<BackoffOptions> = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2 };

/** The delay before retry number `attempt` (0-based): uniform in [0, min(max, initial·multiplier^attempt)]. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...defaultBackoff, ...options };
  const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** attempt);
  return Math.round(random() * ceiling);
}

/** Resolves after `ms`, or at once (false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * True for failures that may pass on their own: the server is unreachable or restarting
 * (UNAVAILABLE without an OMA reason), a deadline passed, the call was aborted by the server, the HTTP/2 stream
 * was reset under the call (CANCELED: Node reports a connection that died mid-call as a
 * stream closed with CANCEL), or the transport broke without an OMA reason (UNKNOWN, or
 * INTERNAL with no ErrorInfo). An error with an OMA reason is an answer from the server,
 * not a transport fault, and is never retried. A caller that cancels a call itself must
 * check its own signal before asking this (every retry loop here does).
 */
export function isTransientFailure(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  switch (err.code) {
    case Code.DeadlineExceeded:
    case Code.Aborted:
      return true;
    // UNAVAILABLE with a reason is the server's answer about a resource (SANDBOX_LOST,
    // BACKEND_UNAVAILABLE, STORAGE_UNAVAILABLE): repeating the call at once does not change
    // it; the caller decides whether and when to try again.
    case Code.Unavailable:
    case Code.Canceled:
    case Code.Unknown:
    case Code.Internal:
      return (omaErrorInfo(err)?.reason ?? "") === "";
    default:
      return false;
  }
}
