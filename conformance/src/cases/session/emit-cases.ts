import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { customEvent, userText, type EventInit } from "../events.js";
import { appendTexts, checkConsecutive, headSeq, newSession, readAll, S, texts } from "./session-helpers.js";

const core = { feature: "session.core", level: "MUST" } as const;

export const emitCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-1/gapless-seqs",
    requirement: "SESS-1",
    title: "single and batched appends get seqs 1, 2, 3 … with server-assigned id and create_time",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const singles = await appendTexts(ctx, sessionId, 4);
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("b1"), userText("b2"), userText("b3")] });
      const acked = [...singles, ...batch.events];
      checkConsecutive(acked, 1, "acknowledged events");
      const ids = new Set(acked.map((e) => e.id));
      check(ids.size === acked.length && !ids.has(""), `event ids must be non-empty and distinct, got ${JSON.stringify([...ids])}`);
      check(acked.every((e) => e.createTime !== undefined), "every event must carry create_time");
      const stored = await readAll(ctx, sessionId);
      checkConsecutive(stored, 1, "stored log");
      checkDeepEqual(texts(stored), ["m1", "m2", "m3", "m4", "b1", "b2", "b3"], "stored payloads in order");
      checkDeepEqual(stored.map((e) => e.id), acked.map((e) => e.id), "stored ids equal acknowledged ids");
      checkEqual(await headSeq(ctx, sessionId), 7, "GetSession.head_seq");
    },
  },
  {
    ...core,
    id: "session/SESS-1/concurrent-appends-gapless",
    requirement: "SESS-1",
    title: "40 concurrent appends get exactly seqs 1..40, each acknowledged seq holding its own event",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const n = 40;
      const acks = await Promise.all(
        Array.from({ length: n }, (_, i) => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`c${i}`) })),
      );
      const seqs = acks.map((a) => Number(a.event?.seq ?? -1)).sort((a, b) => a - b);
      checkDeepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1), "acknowledged seqs");
      const stored = await readAll(ctx, sessionId);
      checkConsecutive(stored, 1, "stored log");
      for (const [i, ack] of acks.entries()) {
        const at = stored[Number(ack.event?.seq ?? 0) - 1];
        checkEqual(texts(at ? [at] : [])[0], `c${i}`, `payload stored at seq ${ack.event?.seq}`);
      }
    },
  },
  {
    ...core,
    id: "session/SESS-1/client-seq-ignored",
    requirement: "SESS-1",
    title: "seq, id and create_time set by the client are ignored",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const res = await ctx.rpc.unary(S.emitEvent, {
        sessionId,
        event: { ...userText("x"), seq: 99n, id: "client-chosen-id", createTime: { seconds: 1n } } as EventInit,
      });
      checkEqual(res.event?.seq, 1, "seq");
      check(res.event?.id !== "client-chosen-id", "the server must assign the event id");
      check((res.event?.createTime?.seconds ?? 0n) > 1n, "the server must assign create_time");
    },
  },
  {
    ...core,
    id: "session/SESS-2/expected-head-matches",
    requirement: "SESS-2",
    title: "expected_head_seq equal to the head appends (0 on an empty log)",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("a"), expectedHeadSeq: 0n });
      checkEqual(first.event?.seq, 1, "seq after expected_head_seq 0");
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("b"), userText("c")], expectedHeadSeq: 1n });
      checkDeepEqual(batch.events.map((e) => e.seq), [2, 3], "batch seqs after expected_head_seq 1");
    },
  },
  {
    ...core,
    id: "session/SESS-2/stale-head-rejected",
    requirement: "SESS-2",
    title: "a stale expected_head_seq is HEAD_SEQ_MISMATCH with head_seq/expected_head_seq metadata, and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 2);
      const err = await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("late"), expectedHeadSeq: 1n }),
        { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" },
        "EmitEvent with expected_head_seq 1 at head 2",
      );
      checkEqual(err.metadata["head_seq"], "2", "metadata head_seq");
      checkEqual(err.metadata["expected_head_seq"], "1", "metadata expected_head_seq");
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("x"), userText("y")], expectedHeadSeq: 5n }),
        { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" },
        "EmitEvents with expected_head_seq ahead of the head",
      );
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["m1", "m2"], "log after rejected appends");
    },
  },
  {
    ...core,
    id: "session/SESS-2/racing-writers-one-wins",
    requirement: "SESS-2",
    title: "of 10 concurrent appends with the same expected_head_seq exactly one succeeds",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 1);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`r${i}`), expectedHeadSeq: 1n })),
      );
      checkEqual(outcomes.filter((o) => o.status === "fulfilled").length, 1, "appends that won");
      checkEqual(await headSeq(ctx, sessionId), 2, "head after the race");
    },
  },
  {
    ...core,
    id: "session/SESS-3/idempotent-retry",
    requirement: "SESS-3",
    title: "a retry with the same idempotency_key returns the original event with duplicate=true and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key });
      check(!first.duplicate, "the first append must not be a duplicate");
      await appendTexts(ctx, sessionId, 1, "after");
      const again = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key });
      check(again.duplicate, "the retry must have duplicate=true");
      checkEqual(again.event?.seq, first.event?.seq, "seq of the retry");
      checkEqual(again.event?.id, first.event?.id, "id of the retry");
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["once", "after1"], "log after the retry");
    },
  },
  {
    ...core,
    id: "session/SESS-3/batch-idempotent-retry",
    requirement: "SESS-3",
    title: "a batch retried with its idempotency_key returns the original events and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      const events = [userText("x"), userText("y"), userText("z")];
      const first = await ctx.rpc.unary(S.emitEvents, { sessionId, events, idempotencyKey: key });
      const again = await ctx.rpc.unary(S.emitEvents, { sessionId, events, idempotencyKey: key });
      check(again.duplicate && !first.duplicate, `duplicate flags: first ${first.duplicate}, retry ${again.duplicate}`);
      checkDeepEqual(again.events.map((e) => e.seq), first.events.map((e) => e.seq), "seqs of the retried batch");
      checkEqual(await headSeq(ctx, sessionId), 3, "head after the retry");
    },
  },
  {
    ...core,
    id: "session/SESS-3/key-reused-with-other-content",
    requirement: "SESS-3",
    title: "the same idempotency_key with a different event is IDEMPOTENCY_KEY_REUSED and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("original"), idempotencyKey: key });
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("different"), idempotencyKey: key }),
        { code: "FAILED_PRECONDITION", reason: "IDEMPOTENCY_KEY_REUSED" },
        "EmitEvent reusing a key with another payload",
      );
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: customEvent("t", { v: 1 }), idempotencyKey: key }),
        { code: "FAILED_PRECONDITION", reason: "IDEMPOTENCY_KEY_REUSED" },
        "EmitEvent reusing a key with another payload kind",
      );
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["original"], "log after rejected reuse");
    },
  },
  {
    ...core,
    id: "session/SESS-3/retry-with-reordered-map-entries",
    requirement: "SESS-3",
    title: "a retry whose Struct keys are encoded in another order (as Go's runtime may) is the same append: duplicate=true, nothing written",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      // The runner encodes map entries in insertion order, so these two go out as different bytes.
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: customEvent("order", { alpha: 1, beta: { x: "one", y: [1, 2] } }), idempotencyKey: key });
      const again = await ctx.rpc.unary(S.emitEvent, { sessionId, event: customEvent("order", { beta: { y: [1, 2], x: "one" }, alpha: 1 }), idempotencyKey: key });
      check(again.duplicate, "the retry with reordered keys must have duplicate=true");
      checkEqual(again.event?.id, first.event?.id, "id of the retry");
      checkEqual(await headSeq(ctx, sessionId), 1, "head after the retry");
    },
  },
  {
    ...core,
    id: "session/SESS-3/dedupe-before-head-check",
    requirement: "SESS-3",
    title: "a retry of an acknowledged append succeeds as a duplicate even after the head moved past expected_head_seq",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("a"), idempotencyKey: key, expectedHeadSeq: 0n });
      await appendTexts(ctx, sessionId, 2);
      const again = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("a"), idempotencyKey: key, expectedHeadSeq: 0n });
      check(again.duplicate, "the retry must be answered as a duplicate");
      checkEqual(again.event?.seq, first.event?.seq, "seq of the retry");
    },
  },
  {
    ...core,
    id: "session/SESS-4/batch-consecutive",
    requirement: "SESS-4",
    title: "a batch gets consecutive seqs, interleaving with no concurrent single append",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const batches = await Promise.all(
        Array.from({ length: 6 }, (_, b) =>
          ctx.rpc.unary(S.emitEvents, { sessionId, events: Array.from({ length: 5 }, (_, i) => userText(`b${b}-${i}`)) }),
        ),
      );
      for (const [b, res] of batches.entries()) {
        const first = Number(res.events[0]?.seq ?? -1);
        checkConsecutive(res.events, first, `batch ${b}`);
        const stored = await ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: BigInt(first - 1), limit: 5 });
        checkDeepEqual(texts(stored.events), Array.from({ length: 5 }, (_, i) => `b${b}-${i}`), `stored batch ${b}`);
      }
      checkEqual(await headSeq(ctx, sessionId), 30, "head");
    },
  },
  {
    ...core,
    id: "session/SESS-4/batch-atomic-on-invalid-event",
    requirement: "SESS-4",
    title: "a batch whose third event is invalid is INVALID_FIELD and writes none of its events",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 1);
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("ok1"), userText("ok2"), {}, userText("ok4")] }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" },
        "EmitEvents with an event without payload",
      );
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["m1"], "log after the rejected batch");
    },
  },
  {
    ...core,
    id: "session/SESS-4/empty-batch-rejected",
    requirement: "SESS-4",
    title: "an empty batch is INVALID_ARGUMENT and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await expectFailure(ctx.rpc.unary(S.emitEvents, { sessionId, events: [] }), { code: "INVALID_ARGUMENT" }, "EmitEvents with no events");
      checkEqual(await headSeq(ctx, sessionId), 0, "head");
    },
  },
  {
    ...core,
    id: "session/SESS-4/too-many-events-rejected",
    requirement: "SESS-4",
    title: "a batch of max_batch_events + 1 is BATCH_TOO_LARGE; one of max_batch_events is accepted",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const max = ctx.limits.maxBatchEvents;
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: Array.from({ length: max + 1 }, (_, i) => userText(`e${i}`)) }),
        { code: "INVALID_ARGUMENT", reason: "BATCH_TOO_LARGE" },
        `EmitEvents with ${max + 1} events`,
      );
      checkEqual(await headSeq(ctx, sessionId), 0, "head after the rejected batch");
      const ok = await ctx.rpc.unary(S.emitEvents, { sessionId, events: Array.from({ length: max }, (_, i) => userText(`e${i}`)) });
      checkEqual(ok.events.length, max, "events of a full batch");
    },
  },
];
