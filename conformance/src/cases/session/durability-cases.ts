import type { ConformanceCase } from "../../runner/case.js";
import { CaseFailure, check, checkDeepEqual, checkEqual } from "../../runner/assertions.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { textOf, userText } from "../events.js";
import { restart, whenBack } from "../restart-helpers.js";
import { checkConsecutive, newSession, readAll, S, texts } from "./session-helpers.js";

export const durabilityCases: ConformanceCase[] = [
  {
    ...restart,
    feature: "session.core",
    id: "session/SESS-5/acked-appends-survive-kill",
    requirement: "SESS-5",
    title:
      "the server is killed at the first acknowledgement while 60 keyed appends and a batch are in flight: every acknowledged append survives with its seq and id, and a retry of each other one with its key leaves every append in the log exactly once",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const keys = Array.from({ length: 60 }, (_, i) => ctx.uniqueId(`k${i}`));
      const batchKey = ctx.uniqueId("batch");
      let firstAck!: () => void;
      const acknowledged = new Promise<void>((resolve) => (firstAck = resolve));
      const single = (i: number) => ({ sessionId, event: userText(`k${i}`), idempotencyKey: keys[i]! });
      const batch = { sessionId, events: [userText("b1"), userText("b2")], idempotencyKey: batchKey };
      const singles = keys.map((_, i) => ctx.rpc.unary(S.emitEvent, single(i)).then((r) => (firstAck(), [r.event!])));
      const batched = ctx.rpc.unary(S.emitEvents, batch).then((r) => (firstAck(), r.events));
      const all = [...singles, batched];
      // The kill comes as soon as anything is acknowledged, while the rest is in flight (a
      // target started with a storage delay keeps them in flight long enough).
      await Promise.race([acknowledged, Promise.allSettled(all)]);
      await ctx.restartTarget!();
      const outcomes = await Promise.allSettled(all);
      const acked = outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value : []));
      check(acked.length > 0, "no append was acknowledged before the kill");
      const stored = await whenBack(ctx, () => readAll(ctx, sessionId)).catch((err: unknown) => {
        if (err instanceof RpcFailure && err.reason === "SESSION_NOT_FOUND") throw new CaseFailure("the session, created (and acknowledged) before the kill, is gone after it");
        throw err;
      });
      for (const e of acked) {
        const at = stored[Number(e.seq) - 1];
        check(at?.id === e.id && textOf(at) === textOf(e), `acknowledged event seq ${e.seq} (${textOf(e)}, ${e.id}) after the kill: ${at ? `${textOf(at)}, ${at.id}` : "missing"}`);
      }
      // The appends whose acknowledgement never came may or may not be stored; retried with
      // their keys, each must end up in the log exactly once (SESS-3 across the kill).
      ctx.note(`${outcomes.filter((o) => o.status === "fulfilled").length} of ${outcomes.length} appends were acknowledged before the kill`);
      await Promise.all(
        outcomes.map((o, i) => (o.status === "fulfilled" ? undefined : i < keys.length ? ctx.rpc.unary(S.emitEvent, single(i)) : ctx.rpc.unary(S.emitEvents, batch))),
      );
      const final = await readAll(ctx, sessionId);
      checkConsecutive(final, 1, "log after the retries");
      checkDeepEqual(texts(final).sort(), [...keys.map((_, i) => `k${i}`), "b1", "b2"].sort(), "every append exactly once");
      const b = final.findIndex((e) => textOf(e) === "b1");
      checkEqual(textOf(final[b + 1]!), "b2", "the batch's events are consecutive");
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
