import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { restart, whenBack } from "../restart-helpers.js";
import { newSession, readAll, S } from "./session-helpers.js";

export const durabilityCases: ConformanceCase[] = [
  {
    ...restart,
    feature: "session.core",
    id: "session/SESS-5/acked-appends-survive-kill",
    requirement: "SESS-5",
    title: "every acknowledged append (60 concurrent singles and a batch) survives a kill of the server, with its seq and id",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const singles = await Promise.all(Array.from({ length: 60 }, (_, i) => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`k${i}`) })));
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("b1"), userText("b2")] });
      const acked = [...singles.map((r) => r.event!), ...batch.events].sort((a, b) => Number(a.seq - b.seq));
      await ctx.restartTarget!();
      const stored = await whenBack(ctx, () => readAll(ctx, sessionId));
      checkDeepEqual(stored.map((e) => [e.seq, e.id]), acked.map((e) => [e.seq, e.id]), "seq and id of every acknowledged event after the restart");
      const next = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("after") });
      checkEqual(next.event?.seq, 63, "the next seq after the restart");
    },
  },
  {
    ...restart,
    feature: "session.core",
    id: "session/SESS-3/keys-survive-restart",
    requirement: "SESS-3",
    title: "an idempotency key is remembered across a restart: the retry is a duplicate of the original",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key });
      await ctx.restartTarget!();
      const again = await whenBack(ctx, () => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key }));
      check(again.duplicate, "the retry after the restart must be a duplicate");
      checkEqual(again.event?.seq, first.event?.seq, "seq of the retry");
      checkEqual((await readAll(ctx, sessionId)).length, 1, "events in the log");
    },
  },
  {
    ...restart,
    feature: "session.leases",
    id: "session/SESS-10/epochs-grow-across-restart",
    requirement: "SESS-10",
    title: "a lease epoch is never reused after a restart",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "before" })).lease!;
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      await ctx.restartTarget!();
      const b = (await whenBack(ctx, () => ctx.rpc.unary(S.acquireLease, { sessionId, holder: "after" }))).lease!;
      check(b.epoch > a.epoch, `the epoch after the restart (${b.epoch}) must exceed ${a.epoch}`);
    },
  },
];
