import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged, userText } from "../events.js";
import { headSeq, newSession, readAll, S, texts } from "./session-helpers.js";

// Cases at the values where a defect shows: a zero that is not "unset", fractions of a
// second, a batch that terminates its session midway, keys shared by two live sessions.
const core = { feature: "session.core", level: "MUST" } as const;
const invalid = { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "ttl" } as const;
const ttl = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });

export const boundaryCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-2/zero-on-non-empty-log",
    requirement: "SESS-2",
    title: "expected_head_seq 0 on a log that has events is HEAD_SEQ_MISMATCH (0 is a value, not \"unset\") and writes nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("first") });
      const err = await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("late"), expectedHeadSeq: 0n }),
        { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" },
        "EmitEvent with expected_head_seq 0 at head 1",
      );
      checkEqual(err.metadata["expected_head_seq"], "0", "metadata expected_head_seq");
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("x"), userText("y")], expectedHeadSeq: 0n }),
        { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" },
        "EmitEvents with expected_head_seq 0 at head 1",
      );
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["first"], "log after the rejected appends");
    },
  },
  {
    ...core,
    feature: "session.leases",
    id: "session/SESS-16/ttl-fractions-count",
    requirement: "SESS-16",
    title: "lease TTLs are exact to the fraction: 1 s and 600 s are accepted, 600.5 s and 0.999 s are INVALID_FIELD, and 1.5 s lasts half a second longer than 1 s",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h", ttl: ttl(600_500) }), invalid, "ttl 600.5 s");
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h", ttl: ttl(999) }), invalid, "ttl 0.999 s");
      check((await ctx.rpc.unary(S.getSession, { sessionId })).session?.lease === undefined, "rejected acquisitions leave no lease");
      const longest = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h", ttl: ttl(600_000) })).lease!;
      await expectFailure(ctx.rpc.unary(S.renewLease, { sessionId, epoch: longest.epoch, ttl: ttl(600_500) }), invalid, "renew with ttl 600.5 s");
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: longest.epoch });
      // Two leases taken one after the other: the second's TTL is half a second longer, so
      // its expiry is at least that much later, whatever the clocks of suite and target.
      const other = await newSession(ctx);
      const one = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "one-second", ttl: ttl(1000) })).lease!;
      const more = (await ctx.rpc.unary(S.acquireLease, { sessionId: other, holder: "one-and-a-half", ttl: ttl(1500) })).lease!;
      const gap = timestampMs(more.expireTime!) - timestampMs(one.expireTime!);
      check(gap >= 490, `a 1.5 s lease taken after a 1 s lease must expire at least 0.5 s later, expires ${gap} ms later`);
    },
  },
  {
    ...core,
    id: "session/SESS-8/batch-terminates-midway",
    requirement: "SESS-8",
    title: "a batch with an event after its terminating status_changed is SESSION_TERMINATED and writes none of its events; a batch that ends with it is accepted",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("before") });
      const terminate = statusChanged(SessionStatus.TERMINATED);
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("a"), terminate, userText("after the end")] }),
        { code: "FAILED_PRECONDITION", reason: "SESSION_TERMINATED" },
        "EmitEvents [user_message, TERMINATED, user_message]",
      );
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["before"], "log after the rejected batch");
      checkEqual((await ctx.rpc.unary(S.getSession, { sessionId })).session?.status, SessionStatus.IDLE, "status after the rejected batch");
      const ok = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("last words"), terminate] });
      checkDeepEqual(ok.events.map((e) => e.seq), [2, 3], "seqs of a batch ending with TERMINATED");
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("too late") }), { code: "FAILED_PRECONDITION", reason: "SESSION_TERMINATED" }, "an append after it");
      checkEqual(await headSeq(ctx, sessionId), 3, "head");
    },
  },
  {
    ...core,
    id: "session/SESS-3/keys-scoped-to-session",
    requirement: "SESS-3",
    title: "one idempotency key in two live sessions makes two appends: the same content is not a duplicate there, other content is not a reuse",
    async run(ctx) {
      const [a, b, c] = [await newSession(ctx), await newSession(ctx), await newSession(ctx)];
      const key = ctx.uniqueId("key");
      const inA = await ctx.rpc.unary(S.emitEvent, { sessionId: a, event: userText("same"), idempotencyKey: key });
      const inB = await ctx.rpc.unary(S.emitEvent, { sessionId: b, event: userText("same"), idempotencyKey: key });
      check(!inB.duplicate, "the same key and content in another session must not be a duplicate");
      check(inB.event?.id !== inA.event?.id, "the other session's append must be an event of its own");
      checkEqual(inB.event?.seq, 1, "seq in the second session");
      const inC = await ctx.rpc.unary(S.emitEvents, { sessionId: c, events: [userText("other"), userText("content")], idempotencyKey: key });
      check(!inC.duplicate && inC.events.length === 2, "the key with other content in a third session must append");
      for (const [sessionId, want] of [[a, ["same"]], [b, ["same"]], [c, ["other", "content"]]] as const) {
        checkDeepEqual(texts(await readAll(ctx, sessionId)), want, `log of ${sessionId}`);
      }
      const again = await ctx.rpc.unary(S.emitEvent, { sessionId: b, event: userText("same"), idempotencyKey: key });
      check(again.duplicate && again.event?.id === inB.event?.id, "a retry in the second session is a duplicate of its own event");
    },
  },
];
