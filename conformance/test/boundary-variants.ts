// Broken variants at boundaries the first cases never pressed on: a zero that is read as
// "unset", whole seconds, a batch that ends its session midway, keys shared by sessions,
// a multi-page replay racing appends.
import { call, patch, type BrokenVariant } from "./variant-kit.js";

type Msg = { message: { case: string; value?: unknown } };
type Ev = { seq: bigint; payload: { case?: string; value?: { status?: number } } };
const TERMINATED = 4;

/** Defects that pass every case that sends only the values where they do no harm. */
export const boundaryVariants: readonly BrokenVariant[] = [
  {
    name: "treats expected_head_seq 0 as unset (a truthiness check)",
    breaks: ["SESS-2"],
    profile: ["SESS-2"],
    session: (real) => {
      const drop = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => {
        const r = req as { expectedHeadSeq?: bigint };
        return orig(r.expectedHeadSeq === 0n ? { ...r, expectedHeadSeq: undefined } : r, ctx);
      };
      return patch(patch(real, "emitEvent", drop), "emitEvents", drop);
    },
  },
  {
    name: "reads lease TTLs in whole seconds (the fraction is dropped)",
    breaks: ["SESS-16"],
    profile: ["SESS-16"],
    session: (real) => {
      const whole = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => {
        const r = req as { ttl?: { seconds: bigint; nanos: number } };
        return orig(r.ttl ? { ...r, ttl: { seconds: r.ttl.seconds, nanos: 0 } } : r, ctx);
      };
      return patch(patch(real, "acquireLease", whole), "renewLease", whole);
    },
  },
  {
    name: "checks termination against the log before a batch only (a batch may go on after its TERMINATED)",
    breaks: ["SESS-8"],
    profile: ["SESS-8"],
    session: (real) =>
      patch(real, "emitEvents", (orig) => (req: never, ctx: never) => {
        // Emulated by moving the terminating status to the end of the batch, so the whole
        // batch is written where it should have been refused.
        const r = req as { events: Ev[] };
        const at = r.events.findIndex((e) => e.payload.case === "statusChanged" && e.payload.value?.status === TERMINATED);
        if (at < 0 || at === r.events.length - 1) return orig(req, ctx);
        return orig({ ...r, events: [...r.events.slice(0, at), ...r.events.slice(at + 1), r.events[at]] }, ctx);
      }),
  },
  {
    name: "keeps idempotency keys server-wide, not per session",
    breaks: ["SESS-3"],
    profile: ["SESS-3"],
    session: (real) => {
      const owner = new Map<string, { sessionId: string; response: unknown }>();
      const global = (orig: (...a: unknown[]) => unknown) => async (req: never, ctx: never) => {
        const r = req as { sessionId: string; idempotencyKey: string };
        const seen = r.idempotencyKey ? owner.get(r.idempotencyKey) : undefined;
        if (seen && seen.sessionId !== r.sessionId) return { ...(seen.response as object), duplicate: true };
        const response = await orig(req, ctx);
        if (r.idempotencyKey && !seen) owner.set(r.idempotencyKey, { sessionId: r.sessionId, response });
        return response;
      };
      return patch(patch(real, "emitEvent", global), "emitEvents", global);
    },
  },
  {
    name: "replays one storage page, then jumps to the head (a replay longer than a page loses the rest)",
    breaks: ["SESS-12"],
    profile: ["SESS-12"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => async function* (req: never, ctx: never) {
        const r = req as { sessionId: string; afterSeq: bigint };
        const page = 512;
        const first = (await call<Promise<{ events: Ev[] }>>(real, "getEvents", { sessionId: r.sessionId, afterSeq: r.afterSeq, beforeSeq: 0n, limit: page, order: 0 }, ctx)).events;
        if (first.length < page) return yield* orig(req, ctx) as AsyncIterable<Msg>;
        for (const e of first) yield { message: { case: "event", value: e } };
        const head = (await call<Promise<{ session: { headSeq: bigint } }>>(real, "getSession", { sessionId: r.sessionId }, ctx)).session.headSeq;
        yield* orig({ ...r, afterSeq: head }, ctx) as AsyncIterable<Msg>;
      }),
  },
];
