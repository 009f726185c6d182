import { create, equals, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { rememberBytes, rememberedBytes } from "../protobuf/remembered-bytes.js";
import { decodeStoredEvent, payloadBytes, storedEvent, storedEvents } from "./event-bytes.js";

const inits: MessageInitShape<typeof EventSchema>["payload"][] = [
  { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "hello ✓" } } }, { block: { case: "image", value: { mediaType: "image/png", data: new Uint8Array([1, 2, 3]) } } }] } },
  { case: "custom", value: { type: "t", data: { n: 1.5, s: "x", list: [true, null, { deep: "y" }] } } },
  { case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: StopReason.END_TURN } },
  { case: "toolUse", value: { toolUseId: "toolu_1", name: "bash", input: { command: "ls -la" } } },
  { case: "custom", value: { type: "big", data: { text: "z".repeat(70_000) } } },
];
const payloads: Event["payload"][] = inits.map((payload) => create(EventSchema, { payload }).payload);

describe("an event's stored form, made from its payload's encoding", () => {
  it("is byte for byte the encoding of the whole event, and decodes to it, for every kind of payload", () => {
    const createTime = timestampFromMs(1_796_000_000_123);
    payloads.forEach((payload, i) => {
      const sent = create(EventSchema, { payload });
      const { event, bytes } = storedEvent(BigInt(i + 1) * 1_000_000_007n, `evt_${i}`, createTime, sent.payload, payloadBytes(sent));
      const whole = create(EventSchema, { seq: BigInt(i + 1) * 1_000_000_007n, id: `evt_${i}`, createTime, payload });
      expect(equals(EventSchema, event, whole)).toBe(true);
      expect(Buffer.from(bytes).equals(Buffer.from(toBinary(EventSchema, whole)))).toBe(true);
      expect(equals(EventSchema, fromBinary(EventSchema, bytes), whole)).toBe(true);
    });
  });

  it("writes the server's fields as toBinary does at their edges: zero, one-byte and ten-byte varints, long and non-ASCII ids", () => {
    const sent = create(EventSchema, { payload: payloads[2]! });
    const encoded = payloadBytes(sent);
    const seqs = [1n, 127n, 128n, 16_383n, 16_384n, 2n ** 35n + 3n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, -1n];
    const ids = ["e", "evt_0123456789abcdef01234567", "é✓𝄞", "x".repeat(127), "y".repeat(128), "z".repeat(300)];
    const times = [{ seconds: 0n, nanos: 0 }, { seconds: 1n, nanos: 0 }, { seconds: 0n, nanos: 1 }, { seconds: 1_796_000_000n, nanos: 999_999_999 }, { seconds: -62_135_596_800n, nanos: 0 }, { seconds: 2n ** 63n - 1n, nanos: 1 }, { seconds: 2n ** 53n + 1n, nanos: 0 }];
    for (const seq of seqs) {
      for (const id of ids) {
        for (const time of times) {
          const createTime = create(TimestampSchema, time);
          const whole = create(EventSchema, { seq, id, createTime, payload: sent.payload });
          const { bytes } = storedEvent(seq, id, createTime, sent.payload, encoded);
          expect(Buffer.from(bytes).toString("hex"), `seq ${seq}, id of ${id.length}, ${time.seconds}s ${time.nanos}ns`).toBe(Buffer.from(toBinary(EventSchema, whole)).toString("hex"));
        }
      }
    }
  });

  it("keeps the server's fields out of the payload's bytes: a payload encoded once serves events with any seq and id", () => {
    const sent = create(EventSchema, { payload: payloads[0]! });
    const encoded = payloadBytes(sent);
    const a = storedEvent(1n, "evt_a", timestampFromMs(1), sent.payload, encoded);
    const b = storedEvent(2n, "evt_b", timestampFromMs(2), sent.payload, encoded);
    expect(fromBinary(EventSchema, a.bytes).id).toBe("evt_a");
    expect(fromBinary(EventSchema, b.bytes).seq).toBe(2n);
    expect(Buffer.from(a.bytes.subarray(a.bytes.length - encoded.length)).equals(Buffer.from(encoded))).toBe(true);
  });

  it("is remembered by the event, whether made for an append or read back from storage", () => {
    const sent = create(EventSchema, { payload: payloads[1]! });
    const { event, bytes } = storedEvent(5n, "evt_5", timestampFromMs(5), sent.payload, payloadBytes(sent));
    expect(rememberedBytes(event)).toBe(bytes);
    const read = decodeStoredEvent(bytes);
    expect(equals(EventSchema, read, event)).toBe(true);
    expect(rememberedBytes(read)).toBe(bytes);
  });

  it("is what the event arrived as when that is its payload alone, and a new encoding when anything else came with it", () => {
    const sent = create(EventSchema, { payload: payloads[3]! });
    const canonical = toBinary(EventSchema, sent);
    const arrived = rememberBytes(fromBinary(EventSchema, canonical), canonical);
    expect(payloadBytes(arrived)).toBe(canonical);
    // A sender that writes seq = 0 explicitly: stored behind the server's seq, those bytes
    // would make a reader take seq 0 (the last one), so they are not used.
    const withSeq = Buffer.concat([Buffer.from([0x08, 0x00]), canonical]);
    const zeroSeq = rememberBytes(fromBinary(EventSchema, withSeq), withSeq);
    expect(payloadBytes(zeroSeq)).not.toBe(withSeq);
    const stored = storedEvent(9n, "evt_9", timestampFromMs(9), zeroSeq.payload, payloadBytes(zeroSeq));
    expect(fromBinary(EventSchema, stored.bytes).seq).toBe(9n);
    // Another field after the payload, or bytes that are not the payload's field.
    const trailing = Buffer.concat([canonical, Buffer.from([0x98, 0x06, 0x01])]); // field 99, unknown
    expect(payloadBytes(rememberBytes(fromBinary(EventSchema, trailing), trailing))).not.toBe(trailing);
    const other = toBinary(EventSchema, create(EventSchema, { payload: payloads[0]! }));
    expect(Buffer.from(payloadBytes(rememberBytes(fromBinary(EventSchema, canonical), other))).equals(Buffer.from(canonical))).toBe(true);
  });

  it("makes a batch's events in one buffer, each still byte for byte its own encoding", () => {
    const createTime = timestampFromMs(1_796_000_000_456);
    const batch = payloads.map((payload, i) => {
      const sent = create(EventSchema, { payload });
      return { seq: BigInt(1000 + i), id: i % 2 ? `evt_${i}` : `é✓${i}`, payload: sent.payload, encodedPayload: payloadBytes(sent) };
    });
    const stored = storedEvents(createTime, batch);
    expect(stored).toHaveLength(batch.length);
    stored.forEach(({ event, bytes }, i) => {
      const whole = create(EventSchema, { seq: batch[i]!.seq, id: batch[i]!.id, createTime, payload: batch[i]!.payload });
      expect(equals(EventSchema, event, whole)).toBe(true);
      expect(Buffer.from(bytes).equals(Buffer.from(toBinary(EventSchema, whole)))).toBe(true);
      expect(rememberedBytes(event)).toBe(bytes);
    });
  });
});
