/** The harness dispatcher's bounds and timings, each with its default. */
export interface HarnessOptions {
  /** TTL of the lease acquired for a new brain; the brain renews it. Default 30 s (SESS-16 bounds: 1 s – 10 min). */
  readonly leaseTtlMs: number;
  /** How often the dispatcher checks brains' leases, renews queued ones and re-wakes dead ones (HARN-5). Default 1 s. */
  readonly sweepIntervalMs: number;
  /** How often a connected worker gets a heartbeat. Default 5 s; keep it well under the 20 s after which a worker reopens a silent stream. */
  readonly heartbeatIntervalMs: number;
  /** Re-wake sessions whose brain died with work left (HARN-5). Default true. */
  readonly autoRewake: boolean;
  /** Most brains one worker may announce (ConnectWorkerRequest.capacity). 1024, per the protocol. */
  readonly maxWorkerCapacity: number;
}

export const defaultHarnessOptions: HarnessOptions = {
  leaseTtlMs: 30_000,
  sweepIntervalMs: 1_000,
  heartbeatIntervalMs: 5_000,
  autoRewake: true,
  maxWorkerCapacity: 1024,
};

/** Ids the protocol accepts for sessions and workers (WIRE-8). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
