/**
 * Every bound the server enforces, in one place, with its default. SPEC.md (WIRE-5) and
 * README list the same numbers; GetServerInfo reports the values in force.
 */
export interface ServerLimits {
  /** Most encoded bytes of one event. */
  readonly maxEventBytes: number;
  /** Most encoded bytes of one EmitEvents batch. */
  readonly maxBatchBytes: number;
  /** Most events in one EmitEvents batch. */
  readonly maxBatchEvents: number;
  /** Largest page size / GetEvents limit; larger requests are coerced to it. */
  readonly maxPageSize: number;
  /** Most bytes of one tool call's output before it is truncated. */
  readonly maxOutputBytes: number;
  /** Most events a watcher may lag behind before WATCHER_TOO_SLOW. */
  readonly maxWatchLagEvents: number;
  /** Largest request message the transport accepts, bytes. */
  readonly maxRequestBytes: number;
  /** Deepest nesting of a Struct anywhere in a request (objects and lists each one level). */
  readonly maxStructDepth: number;
  /** A watch sends a heartbeat after this many milliseconds without any message (SESS-13). */
  readonly watchHeartbeatMs: number;
  /** A brain's session token stays valid this long after its lease's expiry (SEC-4). */
  readonly sessionTokenGraceMs: number;
}

/** Page size of a List RPC whose request leaves page_size 0 (WIRE-4); the maximum is `maxPageSize`. */
export const DEFAULT_PAGE_SIZE = 50;

export const defaultLimits: ServerLimits = {
  maxEventBytes: 256 * 1024,
  maxBatchBytes: 1024 * 1024,
  maxBatchEvents: 256,
  maxPageSize: 1000,
  maxOutputBytes: 100 * 1024,
  maxWatchLagEvents: 10_000,
  maxRequestBytes: 4 * 1024 * 1024,
  maxStructDepth: 32,
  watchHeartbeatMs: 15_000,
  sessionTokenGraceMs: 60_000,
};

/**
 * Defaults and bounds of `AgentConfig.context` (session.proto ContextManagement, HARN-21):
 * CreateSession rejects values outside them with INVALID_FIELD; the brain applies the
 * defaults.
 */
export const contextLimits = {
  /** `max_input_tokens` when the agent sets 0. */
  defaultMaxInputTokens: 160_000,
  /** Smallest `max_input_tokens` an agent may set. */
  minMaxInputTokens: 1_024,
  /** Largest `max_input_tokens` an agent may set. */
  maxMaxInputTokens: 10_000_000,
  /** Smallest `target_input_tokens` an agent may set (it must also be below `max_input_tokens`). */
  minTargetInputTokens: 256,
} as const;

/**
 * Bounds of the `session_history` tool a brain runs itself (HARN-23). They bound what one
 * call puts back into the model's context and how much of the log it reads; SPEC.md
 * states the same numbers for every brain.
 */
export const historyToolLimits = {
  /** Events one call returns when the model names no count. */
  defaultCount: 20,
  /** Most events one call returns. */
  maxCount: 100,
  /** Most characters (Unicode code points) of output per call, footer included. */
  maxOutputChars: 32_000,
  /** Most events a text search reads per call (from the newest back); the output says where it stopped. */
  maxScanEvents: 10_000,
  /** Longest search text, in characters. */
  maxSearchChars: 200,
} as const;
