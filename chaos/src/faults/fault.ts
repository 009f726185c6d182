import type { ChaosConfig, FaultKind } from "../config.js";
import type { Random } from "../random.js";
import type { System } from "../system.js";
import type { Workload } from "../workload.js";

/** What a fault may reach. */
export interface FaultContext {
  readonly system: System;
  readonly workload: Workload;
  readonly random: Random;
  readonly config: ChaosConfig;
}

/** One injected fault, as the report lists it. */
export interface FaultRecord {
  readonly kind: FaultKind;
  /** When it struck, ms since the epoch. */
  readonly at: number;
  /** When the harness stopped holding it (a pause ended, space was freed, a restart served). */
  readonly endedAt: number;
  /** What exactly was hit, in words. */
  readonly detail: string;
  /** Sessions whose brain it hit (they must make progress again within the bound). */
  readonly affected: readonly string[];
  /** Why it could not run here, when it was skipped. */
  readonly skipped?: string;
}

export type Fault = (ctx: FaultContext) => Promise<Omit<FaultRecord, "kind" | "at" | "endedAt">>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sessions whose live brain runs on this worker, per ListHarnesses. */
export async function sessionsOnWorker(ctx: FaultContext, workerId: string): Promise<string[]> {
  const client = await ctx.system.client();
  const { harnesses } = await client.harness.listHarnesses({ pageSize: 1000 }).catch(() => ({ harnesses: [] }));
  return harnesses.filter((h) => h.workerId === workerId).map((h) => h.sessionId);
}

/** Sessions with a turn in flight. */
export function inFlight(ctx: FaultContext): string[] {
  return ctx.workload.runs.filter((r) => r.outstanding).map((r) => r.sessionId);
}
