// How often and how patiently a brain retries a model call. Apart from model-errors.ts so
// that the CLI can show its defaults without loading the Anthropic SDK.

/** Retry policy of model calls. */
export interface ModelRetryPolicy {
  /** Attempts per model call, the first included. Default 6. */
  readonly maxAttempts: number;
  /** Backoff before the second attempt; doubles each time. Default 1 s. */
  readonly initialBackoffMs: number;
  /** Longest wait between attempts, retry-after included. Default 60 s. */
  readonly maxBackoffMs: number;
  /**
   * An attempt that receives nothing (no headers, no stream event) for this long is given
   * up as a connection failure and retried: a hung response must not hold a session
   * forever. Default 5 min (the API's streams send pings well within it).
   */
  readonly idleTimeoutMs: number;
}

export const defaultModelRetryPolicy: ModelRetryPolicy = { maxAttempts: 6, initialBackoffMs: 1_000, maxBackoffMs: 60_000, idleTimeoutMs: 300_000 };
