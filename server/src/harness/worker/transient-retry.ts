import { withRetries, type RetryOptions } from "@oma/client";

/**
 * How a brain repeats its calls that are safe to repeat (reads, keyed appends, keyed
 * Execute) while the server is unreachable: the SDK's one retry loop, with room to ride
 * out a server restart (ten attempts, up to 4 s apart).
 */
export const BRAIN_RETRY: RetryOptions = { maxAttempts: 10, backoff: { initialDelayMs: 250, maxDelayMs: 4_000 } };

/** A call repeated under BRAIN_RETRY; anything but a transient transport failure, or the last one, is thrown. */
export function retryTransient<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withRetries(() => call(), { ...BRAIN_RETRY, ...(signal ? { signal } : {}) });
}
