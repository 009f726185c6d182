import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLimits } from "../limits.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { customEvent, expectRpcError, newSession, range, readAll, seqsOf, textEvent, type SessionClient } from "./session-test-kit.js";

/** A user message whose encoding is exactly `bytes` long. */
function eventOfSize(bytes: number): Event {
  const probe = toBinary(EventSchema, textEvent("x".repeat(bytes))).length;
  const event = textEvent("x".repeat(bytes - (probe - bytes)));
  expect(toBinary(EventSchema, event).length).toBe(bytes);
  return event;
}

describe("SessionService: EmitEvent / EmitEvents (real server)", () => {
  let app: TestApp;
  let client: SessionClient;
  beforeAll(async () => {
    app = await startTestApp();
    client = app.client(SessionService);
  });
  afterAll(async () => {
    await app.stop();
  });

  /** Runs a rejected call and checks that the session's log and head are exactly as before (WIRE-6). */
  async function unchanged(sessionId: string, call: () => Promise<unknown>): Promise<void> {
    const before = await readAll(client, sessionId);
    const head = (await client.getSession({ sessionId })).session!.headSeq;
    await call();
    expect((await readAll(client, sessionId)).map((e) => [e.seq, e.id])).toEqual(before.map((e) => [e.seq, e.id]));
    expect((await client.getSession({ sessionId })).session!.headSeq).toBe(head);
  }

  it("SESS-1: the server assigns seq, id and create_time; concurrent emits are gapless and all distinct", async () => {
    const sessionId = await newSession(client);
    const first = await client.emitEvent({ sessionId, event: { ...textEvent("hi"), seq: 99n, id: "mine" } });
    expect(first.event!.seq).toBe(1n);
    expect(first.event!.id).toMatch(/^evt_/);
    expect(first.event!.createTime).toBeDefined();
    const many = await Promise.all(range(1, 50).map((i) => client.emitEvent({ sessionId, event: textEvent(`m${i}`) })));
    expect(seqsOf(many.map((r) => r.event!)).sort((a, b) => a - b)).toEqual(range(2, 51));
    expect(seqsOf(await readAll(client, sessionId))).toEqual(range(1, 51));
    expect((await client.getSession({ sessionId })).session!.headSeq).toBe(51n);
  });

  it("SESS-4: a batch gets consecutive seqs", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    const res = await client.emitEvents({ sessionId, events: [customEvent("x"), customEvent("y"), customEvent("z")] });
    expect(seqsOf(res.events)).toEqual([2, 3, 4]);
  });

  it("SESS-2: expected_head_seq mismatch is FAILED_PRECONDITION / HEAD_SEQ_MISMATCH with both heads; nothing written", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a"), expectedHeadSeq: 0n });
    await unchanged(sessionId, async () => {
      const info = await expectRpcError(client.emitEvent({ sessionId, event: textEvent("b"), expectedHeadSeq: 0n }), Code.FailedPrecondition, "HEAD_SEQ_MISMATCH");
      expect(info.metadata).toMatchObject({ head_seq: "1", expected_head_seq: "0" });
      await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("b")], expectedHeadSeq: 5n }), Code.FailedPrecondition, "HEAD_SEQ_MISMATCH");
    });
    expect((await client.emitEvent({ sessionId, event: textEvent("b"), expectedHeadSeq: 1n })).event!.seq).toBe(2n);
  });

  it("SESS-3: a retry returns the original with duplicate=true; other content under the key is IDEMPOTENCY_KEY_REUSED", async () => {
    const sessionId = await newSession(client);
    const first = await client.emitEvents({ sessionId, events: [textEvent("a"), textEvent("b")], idempotencyKey: "batch-1" });
    await client.emitEvent({ sessionId, event: textEvent("c") });
    const retry = await client.emitEvents({ sessionId, events: [textEvent("a"), textEvent("b")], idempotencyKey: "batch-1", expectedHeadSeq: 0n });
    expect(retry.duplicate).toBe(true);
    expect(retry.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    await unchanged(sessionId, async () => {
      const reused = await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("a")], idempotencyKey: "batch-1" }), Code.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");
      expect(reused.metadata).toMatchObject({ idempotency_key: "batch-1", original_seq: "1" });
      await expectRpcError(client.emitEvent({ sessionId, event: textEvent("z"), idempotencyKey: "batch-1" }), Code.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");
    });
    const single = await client.emitEvent({ sessionId, event: textEvent("d"), idempotencyKey: "one" });
    const singleRetry = await client.emitEvent({ sessionId, event: textEvent("d"), idempotencyKey: "one" });
    expect([singleRetry.duplicate, singleRetry.event!.id, singleRetry.event!.seq]).toEqual([true, single.event!.id, 4n]);
  });

  it("SESS-3: a retry whose Struct keys arrive in another order (as Go's runtime encodes maps) is the same append", async () => {
    const sessionId = await newSession(client);
    const data = (order: "ab" | "ba") => (order === "ab" ? { a: 1, b: { x: [1, "two"], y: true } } : { b: { y: true, x: [1, "two"] }, a: 1 });
    const event = (order: "ab" | "ba") => create(EventSchema, { payload: { case: "custom", value: { type: "t", data: data(order) } } });
    // The two encodings really differ on the wire: protobuf-es writes map entries in insertion order.
    expect(Buffer.from(toBinary(EventSchema, event("ab"))).equals(Buffer.from(toBinary(EventSchema, event("ba"))))).toBe(false);
    const first = await client.emitEvent({ sessionId, event: event("ab"), idempotencyKey: "struct-1" });
    const retry = await client.emitEvent({ sessionId, event: event("ba"), idempotencyKey: "struct-1" });
    expect([retry.duplicate, retry.event!.id]).toEqual([true, first.event!.id]);
    const other = create(EventSchema, { payload: { case: "custom", value: { type: "t", data: { a: 1, b: { x: ["two", 1], y: true } } } } });
    await unchanged(sessionId, () => expectRpcError(client.emitEvent({ sessionId, event: other, idempotencyKey: "struct-1" }), Code.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED"));
  });

  it("SESS-6: an event without a JSON form (a NaN or infinite number in a Struct) is INVALID_FIELD; nothing is written", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    const withNumber = (n: number) => create(EventSchema, { payload: { case: "custom", value: { type: "t", data: { n } } } });
    await unchanged(sessionId, async () => {
      for (const n of [Number.NaN, Number.POSITIVE_INFINITY]) {
        const info = await expectRpcError(client.emitEvent({ sessionId, event: withNumber(n), idempotencyKey: "nan" }), Code.InvalidArgument, "INVALID_FIELD", "event.payload");
        expect(info.message).toMatch(/NaN or Infinity/);
      }
      await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("ok"), withNumber(Number.NaN)] }), Code.InvalidArgument, "INVALID_FIELD", "events[1].payload");
    });
  });

  it("SESS-20: malformed idempotency keys, negative heads and non-positive lease epochs are INVALID_FIELD", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    await unchanged(sessionId, async () => {
      for (const idempotencyKey of ["k".repeat(129), "tab\tkey", "é"]) {
        await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x"), idempotencyKey }), Code.InvalidArgument, "INVALID_FIELD", "idempotency_key");
      }
      await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x"), expectedHeadSeq: -1n }), Code.InvalidArgument, "INVALID_FIELD", "expected_head_seq");
      await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x"), leaseEpoch: 0n }), Code.InvalidArgument, "INVALID_FIELD", "lease_epoch");
      await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("x")], leaseEpoch: -3n }), Code.InvalidArgument, "INVALID_FIELD", "lease_epoch");
    });
    expect((await client.emitEvent({ sessionId, event: textEvent("x"), idempotencyKey: "~".repeat(128) })).duplicate).toBe(false);
  });

  it("SESS-6: an event needs exactly one payload, and message payloads need content; nothing is written", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    await unchanged(sessionId, async () => {
      await expectRpcError(client.emitEvent({ sessionId }), Code.InvalidArgument, "INVALID_FIELD", "event");
      await expectRpcError(client.emitEvent({ sessionId, event: {} }), Code.InvalidArgument, "INVALID_FIELD", "event.payload");
      await expectRpcError(client.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: {} } } }), Code.InvalidArgument, "INVALID_FIELD", "event.user_message.content");
      await expectRpcError(client.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{}] } } } }), Code.InvalidArgument, "INVALID_FIELD", "event.user_message.content[0]");
      await expectRpcError(client.emitEvent({ sessionId, event: { payload: { case: "agentMessage", value: {} } } }), Code.InvalidArgument, "INVALID_FIELD", "event.agent_message.content");
      await expectRpcError(client.emitEvent({ sessionId, event: { payload: { case: "statusChanged", value: {} } } }), Code.InvalidArgument, "INVALID_FIELD", "event.status_changed.status");
      await expectRpcError(client.emitEvent({ sessionId, event: { payload: { case: "custom", value: { type: "" } } } }), Code.InvalidArgument, "INVALID_FIELD", "event.custom.type");
      // SESS-4: one bad event spoils the whole batch.
      await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("ok"), {}, textEvent("ok")] }), Code.InvalidArgument, "INVALID_FIELD", "events[1].payload");
      await expectRpcError(client.emitEvents({ sessionId, events: [] }), Code.InvalidArgument, "INVALID_FIELD", "events");
    });
  });

  it("SESS-7: an event of exactly max_event_bytes is accepted; one byte more is EVENT_TOO_LARGE with sizes and index", async () => {
    const sessionId = await newSession(client);
    const max = defaultLimits.maxEventBytes;
    expect((await client.emitEvent({ sessionId, event: eventOfSize(max) })).event!.seq).toBe(1n);
    await unchanged(sessionId, async () => {
      const info = await expectRpcError(client.emitEvent({ sessionId, event: eventOfSize(max + 1) }), Code.InvalidArgument, "EVENT_TOO_LARGE");
      expect(info.metadata).toMatchObject({ size_bytes: String(max + 1), limit_bytes: String(max), index: "0" });
      const inBatch = await expectRpcError(client.emitEvents({ sessionId, events: [textEvent("a"), eventOfSize(max + 1)] }), Code.InvalidArgument, "EVENT_TOO_LARGE");
      expect(inBatch.metadata["index"]).toBe("1");
    });
  });

  it("SESS-7: a batch over max_batch_bytes or max_batch_events is BATCH_TOO_LARGE; nothing is written", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    const big = eventOfSize(defaultLimits.maxEventBytes);
    const overBytes = Math.floor(defaultLimits.maxBatchBytes / defaultLimits.maxEventBytes) + 1;
    await unchanged(sessionId, async () => {
      const bytes = await expectRpcError(client.emitEvents({ sessionId, events: Array.from({ length: overBytes }, () => big) }), Code.InvalidArgument, "BATCH_TOO_LARGE");
      expect(bytes.metadata["limit_bytes"]).toBe(String(defaultLimits.maxBatchBytes));
      const count = await expectRpcError(
        client.emitEvents({ sessionId, events: Array.from({ length: defaultLimits.maxBatchEvents + 1 }, (_, i) => customEvent(`c${i}`)) }),
        Code.InvalidArgument,
        "BATCH_TOO_LARGE",
      );
      expect(count.metadata).toMatchObject({ count: String(defaultLimits.maxBatchEvents + 1), limit_count: String(defaultLimits.maxBatchEvents) });
    });
    const full = await client.emitEvents({ sessionId, events: Array.from({ length: defaultLimits.maxBatchEvents }, (_, i) => customEvent(`c${i}`)) });
    expect(full.events).toHaveLength(defaultLimits.maxBatchEvents);
  });

  it("SESS-8/SESS-14: status follows status_changed; after TERMINATED appends are SESSION_TERMINATED", async () => {
    const sessionId = await newSession(client);
    const status = (s: SessionStatus, r = StopReason.UNSPECIFIED) => create(EventSchema, { payload: { case: "statusChanged", value: { status: s, stopReason: r } } });
    await client.emitEvent({ sessionId, event: status(SessionStatus.RUNNING) });
    expect((await client.getSession({ sessionId })).session!.status).toBe(SessionStatus.RUNNING);
    await client.emitEvent({ sessionId, event: status(SessionStatus.IDLE, StopReason.REQUIRES_ACTION) });
    const idle = (await client.getSession({ sessionId })).session!;
    expect([idle.status, idle.stopReason]).toEqual([SessionStatus.IDLE, StopReason.REQUIRES_ACTION]);
    await client.emitEvent({ sessionId, event: status(SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT) });
    const done = (await client.getSession({ sessionId })).session!;
    expect([done.status, done.stopReason]).toEqual([SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT]);
    await unchanged(sessionId, async () => {
      await expectRpcError(client.emitEvent({ sessionId, event: textEvent("late") }), Code.FailedPrecondition, "SESSION_TERMINATED");
      await expectRpcError(client.acquireLease({ sessionId, holder: "h" }), Code.FailedPrecondition, "SESSION_TERMINATED");
    });
  });
});
