import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { CaseContext } from "../../runner/case.js";
import type { RpcClient } from "../../client/rpc-client.js";
import { check } from "../../runner/assertions.js";
import { textOf, userText } from "../events.js";

export const S = SessionService.method;

/** The model name every session of the suite is created with; no model is called for it. */
export const TEST_MODEL = "oma-conformance-model";

/** Creates a session with a unique client-chosen id and returns the id. */
export async function newSession(ctx: CaseContext, labels: Record<string, string> = {}): Promise<string> {
  const sessionId = ctx.uniqueId("conf");
  const res = await ctx.rpc.unary(S.createSession, { sessionId, labels, agent: { model: TEST_MODEL } });
  check(res.session?.sessionId === sessionId, `CreateSession returned session_id ${res.session?.sessionId}, asked for ${sessionId}`);
  return sessionId;
}

/** Appends `count` user messages "m1".."mN" one by one and returns the stored events. */
export async function appendTexts(ctx: CaseContext, sessionId: string, count: number, prefix = "m"): Promise<Event[]> {
  const out: Event[] = [];
  for (let i = 1; i <= count; i++) {
    const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`${prefix}${i}`) });
    check(res.event, "EmitEvent returned no event");
    out.push(res.event);
  }
  return out;
}

/**
 * Appends `count` user messages in batches (fast setup for long logs); `padBytes` makes
 * each text that much longer, batches staying within the target's batch limits.
 */
export async function appendMany(ctx: CaseContext, sessionId: string, count: number, prefix = "m", padBytes = 0): Promise<void> {
  const pad = "p".repeat(padBytes);
  const byBytes = Math.floor(ctx.limits.maxBatchBytes / (padBytes + 64));
  const batch = Math.max(1, Math.min(ctx.limits.maxBatchEvents || 100, padBytes ? byBytes : 100));
  for (let start = 1; start <= count; start += batch) {
    const n = Math.min(batch, count - start + 1);
    const events = Array.from({ length: n }, (_, i) => userText(`${prefix}${start + i}${pad}`));
    await ctx.rpc.unary(S.emitEvents, { sessionId, events });
  }
}

/** The whole log, read in ascending pages (through `rpc`, by default the run's client). */
export async function readAll(ctx: CaseContext, sessionId: string, rpc: RpcClient = ctx.rpc): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const after = out.at(-1)?.seq ?? 0n;
    const res = await rpc.unary(S.getEvents, { sessionId, afterSeq: after, limit: 1000 });
    if (res.events.length === 0) return out;
    out.push(...res.events);
    if (out.length > 100_000) throw new Error("log too long to read");
  }
}

export async function headSeq(ctx: CaseContext, sessionId: string, rpc: RpcClient = ctx.rpc): Promise<number> {
  const res = await rpc.unary(S.getSession, { sessionId });
  return Number(res.session?.headSeq ?? -1);
}

/** The texts of the user_message events. */
export function texts(events: readonly Event[]): (string | undefined)[] {
  return events.map((e) => textOf(e));
}

/** Checks seqs are exactly first, first+1, … */
export function checkConsecutive(events: readonly Event[], first: number, what: string): void {
  events.forEach((e, i) => check(Number(e.seq) === first + i, `${what}: event #${i} has seq ${e.seq}, expected ${first + i}`));
}
