/** Every fault the harness can inject, by name (the table has one row per kind). */
export const FAULT_KINDS = [
  "kill-worker",
  "pause-worker",
  "kill-server",
  "pause-server",
  "kill-sandbox",
  "drop-watches",
  "model-errors",
  "cut-worker",
  "disk-full",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosConfig {
  /** Seeds every choice of the run; print it, and `--seed` replays the same faults. */
  readonly seed: number;
  /** How long faults are injected and turns started; then the run settles and is checked. */
  readonly durationMs: number;
  readonly sessions: number;
  /** Bash calls per turn. */
  readonly toolsPerTurn: number;
  /** Sandbox backends the sessions use, round-robin ("docker", "bubblewrap"). */
  readonly backends: readonly string[];
  readonly faults: readonly FaultKind[];
  /** Time between two faults: a random value in this range. */
  readonly faultGapMs: readonly [number, number];
  /** Lease TTL of the server (`--lease-ttl-ms`): a dead brain's session waits this long. */
  readonly leaseTtlMs: number;
  /** Local workers of `oma serve` and their capacity. */
  readonly localWorkers: number;
  /** Workers started by hand, behind the TCP proxy. */
  readonly remoteWorkers: number;
  readonly workerCapacity: number;
  /** A model response with no data for this long is given up and retried (`--model-idle-timeout-ms`). */
  readonly modelIdleTimeoutMs: number;
  /** Peak resident memory allowed to one server process. */
  readonly maxServerRssBytes: number;
  /** Size of the tmpfs holding the data directory when disk-full is among the faults. */
  readonly dataFsBytes: number;
}

export const defaultConfig: ChaosConfig = {
  seed: 1,
  durationMs: 60_000,
  sessions: 12,
  toolsPerTurn: 3,
  backends: ["bubblewrap"],
  faults: FAULT_KINDS,
  faultGapMs: [1_000, 3_000],
  leaseTtlMs: 3_000,
  localWorkers: 1,
  remoteWorkers: 2,
  workerCapacity: 4,
  modelIdleTimeoutMs: 3_000,
  maxServerRssBytes: 512 * 1024 * 1024,
  dataFsBytes: 96 * 1024 * 1024,
};

/** The server's sweep interval: the reference's rewake delay (HARN-21). */
export const REWAKE_DELAY_MS = 1_000;
/** A worker's longest reconnect backoff (`oma worker`). */
export const WORKER_RECONNECT_MS = 5_000;
/** Room for a loaded machine: the scheduler, GC pauses, a busy sweep. */
export const SCHEDULING_ALLOWANCE_MS = 5_000;

/**
 * The longest a session with a turn in flight may go without its log growing while the
 * server serves: its brain's lease runs out, the server wakes it again (HARN-21: TTL +
 * rewake delay), a worker reconnects, or a hung model call times out and is retried.
 */
export function stallBoundMs(c: ChaosConfig): number {
  return c.leaseTtlMs + REWAKE_DELAY_MS + Math.max(WORKER_RECONNECT_MS, c.modelIdleTimeoutMs) + SCHEDULING_ALLOWANCE_MS;
}
