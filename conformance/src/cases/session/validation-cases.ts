import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged, userText } from "../events.js";
import { headSeq, newSession, S, TEST_MODEL } from "./session-helpers.js";
import { encodedSize, userTextOfSize } from "./sized-event.js";

const core = { feature: "session.core", level: "MUST" } as const;

export const validationCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-6/event-without-payload",
    requirement: "SESS-6",
    title: "an event without payload is INVALID_FIELD naming event.payload",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: {} }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "event.payload" },
        "EmitEvent with an empty event",
      );
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" }, "EmitEvent without event");
      checkEqual(await headSeq(ctx, sessionId), 0, "head");
    },
  },
  {
    ...core,
    id: "session/SESS-6/message-without-content",
    requirement: "SESS-6",
    title: "a user message without content, or a status_changed without status, is INVALID_FIELD",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: { payload: { case: "userMessage", value: { content: [] } } } }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "event" },
        "EmitEvent with an empty user message",
      );
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: statusChanged(SessionStatus.UNSPECIFIED) }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "event" },
        "EmitEvent with status_changed UNSPECIFIED",
      );
      checkEqual(await headSeq(ctx, sessionId), 0, "head");
    },
  },
  {
    ...core,
    id: "session/SESS-7/largest-event-accepted",
    requirement: "SESS-7",
    title: "an event of exactly max_event_bytes is accepted and read back intact",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const max = ctx.limits.maxEventBytes;
      const event = userTextOfSize(max);
      const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event });
      checkEqual(res.event?.seq, 1, "seq of the largest event");
      const back = await ctx.rpc.unary(S.getEvents, { sessionId });
      const stored = back.events[0];
      check(stored !== undefined, "the event must be readable");
      checkEqual(encodedSize({ payload: stored.payload }), max, "encoded size of the stored payload");
    },
  },
  {
    ...core,
    id: "session/SESS-7/one-byte-over-rejected",
    requirement: "SESS-7",
    title: "an event of max_event_bytes + 1 is EVENT_TOO_LARGE with size/limit/index metadata and writes nothing",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const max = ctx.limits.maxEventBytes;
      const err = await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userTextOfSize(max + 1) }),
        { code: "INVALID_ARGUMENT", reason: "EVENT_TOO_LARGE" },
        "EmitEvent one byte over max_event_bytes",
      );
      checkEqual(err.metadata["size_bytes"], String(max + 1), "metadata size_bytes");
      checkEqual(err.metadata["limit_bytes"], String(max), "metadata limit_bytes");
      checkEqual(err.metadata["index"], "0", "metadata index");
      const batchErr = await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("small"), userTextOfSize(max + 1)] }),
        { code: "INVALID_ARGUMENT", reason: "EVENT_TOO_LARGE" },
        "EmitEvents with an oversized second event",
      );
      checkEqual(batchErr.metadata["index"], "1", "metadata index of the oversized event in the batch");
      checkEqual(await headSeq(ctx, sessionId), 0, "head after the rejected appends");
    },
  },
  {
    ...core,
    id: "session/SESS-7/batch-over-bytes-rejected",
    requirement: "SESS-7",
    title: "a batch of events each under the limit but over max_batch_bytes in total is BATCH_TOO_LARGE and writes nothing",
    timeoutMs: 30_000,
    async run(ctx) {
      const { maxEventBytes, maxBatchBytes, maxBatchEvents } = ctx.limits;
      const each = Math.min(maxEventBytes, 64 * 1024);
      const count = Math.floor(maxBatchBytes / each) + 1;
      if (count > maxBatchEvents) {
        ctx.note(`max_batch_events (${maxBatchEvents}) makes a batch over ${maxBatchBytes} bytes impossible; checked the count bound only`);
        return;
      }
      const sessionId = await newSession(ctx);
      const events = Array.from({ length: count }, () => userTextOfSize(each));
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events }),
        { code: "INVALID_ARGUMENT", reason: "BATCH_TOO_LARGE" },
        `EmitEvents of ${count} × ${each} bytes`,
      );
      checkEqual(await headSeq(ctx, sessionId), 0, "head after the rejected batch");
    },
  },
  {
    ...core,
    id: "session/SESS-20/session-id-grammar",
    requirement: "SESS-20",
    title: "session ids outside [A-Za-z0-9][A-Za-z0-9._-]{0,127} are INVALID_FIELD session_id; 128 characters are fine",
    async run(ctx) {
      const bad = ["a/b", "has space", ".dot", "-dash", "x".repeat(129), "tab\t", "ünï"];
      for (const sessionId of bad) {
        await expectFailure(
          ctx.rpc.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } }),
          { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "session_id" },
          `CreateSession with id ${JSON.stringify(sessionId)}`,
        );
      }
      const long = (ctx.uniqueId("L") + "x".repeat(128)).slice(0, 128);
      const res = await ctx.rpc.unary(S.createSession, { sessionId: long, agent: { model: TEST_MODEL } });
      checkEqual(res.session?.sessionId, long, "a 128-character id");
    },
  },
  {
    ...core,
    id: "session/SESS-20/label-bounds",
    requirement: "SESS-20",
    title: "labels beyond 64 entries, bad keys or values over 256 bytes are INVALID_FIELD",
    async run(ctx) {
      const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
      const cases: [string, Record<string, string>][] = [
        ["65 labels", tooMany],
        ["an upper-case key", { Key: "v" }],
        ["an empty key", { "": "v" }],
        ["a 64-byte key", { ["k".repeat(64)]: "v" }],
        ["a 257-byte value", { k: "v".repeat(257) }],
      ];
      for (const [what, labels] of cases) {
        await expectFailure(
          ctx.rpc.unary(S.createSession, { sessionId: ctx.uniqueId("lbl"), labels, agent: { model: TEST_MODEL } }),
          { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "labels" },
          `CreateSession with ${what}`,
        );
      }
      const ok = { ["k".repeat(63)]: "v".repeat(256), "a.b/c-d_e": "" };
      const res = await ctx.rpc.unary(S.createSession, { sessionId: ctx.uniqueId("lbl"), labels: ok, agent: { model: TEST_MODEL } });
      checkEqual(Object.keys(res.session?.labels ?? {}).length, 2, "labels at the bounds");
    },
  },
  {
    ...core,
    id: "session/SESS-20/idempotency-key-grammar",
    requirement: "SESS-20",
    title: "idempotency keys of 129 characters or with non-printable characters are INVALID_FIELD and write nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      for (const key of ["k".repeat(129), "tab\tkey", "nl\nkey", "ключ"]) {
        await expectFailure(
          ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("x"), idempotencyKey: key }),
          { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "idempotency_key" },
          `EmitEvent with idempotency key ${JSON.stringify(key.slice(0, 20))}`,
        );
      }
      checkEqual(await headSeq(ctx, sessionId), 0, "head");
      const ok = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("x"), idempotencyKey: "k".repeat(128) });
      checkEqual(ok.event?.seq, 1, "a 128-character key is accepted");
    },
  },
];
