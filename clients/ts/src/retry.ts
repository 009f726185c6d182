import type { CallOptions } from "@connectrpc/connect";
import { backoffDelay, isTransientFailure, sleep, type BackoffOptions } from "./backoff.js";

export interface RetryOptions {
  /** Attempts in all, first call included. Default 5. */
  maxAttempts?: number;
  /** Delays between attempts. */
  backoff?: BackoffOptions;
  /** Aborts the call and any wait between attempts. */
  signal?: AbortSignal;
  /** Per-attempt deadline in milliseconds; a hung attempt becomes DEADLINE_EXCEEDED and is retried. Default 30 000. */
  timeoutMs?: number;
}

export const defaultRetryAttempts = 5;
export const defaultAttemptTimeoutMs = 30_000;

/**
 * The one retry loop of the SDK: repeats a call that is safe to repeat — a read, or a write
 * with an idempotency key — while it fails with a transient transport failure (see
 * isTransientFailure), with backoff between attempts. An answer with an OMA reason is
 * thrown at once, as is the last failure. Each attempt gets the signal and its deadline
 * through the CallOptions it is given.
 */
export async function withRetries<T>(attempt: (call: CallOptions) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? defaultRetryAttempts;
  for (let n = 1; ; n++) {
    try {
      return await attempt({ signal: options.signal, timeoutMs: options.timeoutMs ?? defaultAttemptTimeoutMs });
    } catch (err) {
      if (n >= maxAttempts || options.signal?.aborted || !isTransientFailure(err)) throw err;
      if (!(await sleep(backoffDelay(n - 1, options.backoff), options.signal))) throw err;
    }
  }
}
