import { isTransientFailure } from "@oma/client";
import { setTimeout as sleep } from "node:timers/promises";

/** Attempts of a safe-to-repeat call while the server is unreachable (about 6 s in all). */
export const TRANSIENT_ATTEMPTS = 6;
const FIRST_DELAY_MS = 200;

/**
 * Repeats a call that is safe to repeat (a read, or a write with an idempotency key) while
 * it fails with a transient transport failure — the server restarting, a connection
 * reset. Anything else, or the last failure, is thrown.
 */
export async function retryTransient<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= TRANSIENT_ATTEMPTS || signal?.aborted || !isTransientFailure(err)) throw err;
      await sleep(FIRST_DELAY_MS * 2 ** (attempt - 1), undefined, signal ? { signal } : undefined).catch(() => undefined);
    }
  }
}
