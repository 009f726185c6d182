import type { ClassicLevel } from "classic-level";
import type { ServerLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { Paging } from "./rpc/paging.js";
import type { StorageHealth } from "./store/storage-health.js";
import type { OmaMetrics } from "./telemetry/metrics.js";

/** What every part of the server is opened with. */
export interface PartContext {
  /** Root of the server's data; LevelDB lives in `${dataDir}/leveldb`. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly limits: ServerLimits;
  /** Page sizes and signed page tokens of every List RPC (WIRE-4). */
  readonly paging: Paging;
  /** Every durable write goes through it; once one fails the server writes no more (SESS-21). */
  readonly storage: StorageHealth;
  /** The server's Prometheus metrics; parts report through the observers built from it. */
  readonly metrics: OmaMetrics;
}

/**
 * One part of the server (session log, sandboxes, harness dispatch): its RPC service
 * implementation, the features it claims, and how to close it.
 */
export interface ServerPart {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly service: any;
  /** Feature names this part claims in GetServerInfo (e.g. "session.leases"). */
  readonly features: readonly string[];
  /** Releases every resource; called once, in reverse opening order. */
  close(): Promise<void>;
}

/** The shared LevelDB handle; each part keeps its data in its own sublevels. */
export type Db = ClassicLevel<string, Uint8Array>;
