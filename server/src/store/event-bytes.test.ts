import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { decodeEvent, eventBytes, knownEventBytes, payloadBytes, payloadJson, storedEvent } from "./event-bytes.js";

const payloads: Event["payload"][] = [
  { case: "userMessage", value: { $typeName: "oma.v1.UserMessage", content: [{ $typeName: "oma.v1.ContentBlock", block: { case: "text", value: { $typeName: "oma.v1.TextBlock", text: "héllo" } } }] } },
  { case: "statusChanged", value: { $typeName: "oma.v1.StatusChanged", status: SessionStatus.IDLE, stopReason: 0, detail: "d" } },
] as never;
const custom = create(EventSchema, { payload: { case: "custom", value: { type: "t", data: { z: 1, a: [true, null, "s"], m: { k: 2.5 } } } } });
/** What a client sends: its own seq and id, which the log replaces. */
const sent = [...payloads.map((payload) => create(EventSchema, { seq: 99n, id: "client's", payload })), custom];

describe("event bytes (each event encoded once)", () => {
  it("a payload's encoding and JSON are those of the event reduced to its payload, and are made once", () => {
    for (const e of sent) {
      const only = create(EventSchema, { payload: e.payload });
      expect(payloadBytes(e)).toEqual(toBinary(EventSchema, only));
      expect(payloadJson(e)).toEqual(toJson(EventSchema, only));
      // Another event with the same payload (the log's copy) gets the same kept values.
      const copy = create(EventSchema, { payload: e.payload });
      expect(payloadBytes(copy)).toBe(payloadBytes(e));
      expect(payloadJson(copy)).toBe(payloadJson(e));
    }
  });

  it("a stored event's kept encoding is the one toBinary writes, built from its payload's", () => {
    const createTime = timestampFromMs(1_790_000_000_123);
    sent.forEach((e, i) => {
      const stored = storedEvent(e, BigInt(i + 1), `evt_${i}`, createTime);
      expect(stored).toMatchObject({ seq: BigInt(i + 1), id: `evt_${i}`, createTime, payload: e.payload });
      expect(knownEventBytes(stored)).toEqual(toBinary(EventSchema, stored));
      expect(eventBytes(stored)).toBe(knownEventBytes(stored));
    });
  });

  it("an event read from storage keeps the bytes it was decoded from; an event made elsewhere is encoded once, on demand", () => {
    const bytes = toBinary(EventSchema, create(EventSchema, { seq: 7n, id: "evt_x", payload: custom.payload }));
    const read = decodeEvent(bytes);
    expect(read.seq).toBe(7n);
    expect(eventBytes(read)).toBe(bytes);
    const made = create(EventSchema, { seq: 8n, payload: custom.payload });
    expect(knownEventBytes(made)).toBeUndefined();
    expect(eventBytes(made)).toEqual(toBinary(EventSchema, made));
    expect(eventBytes(made)).toBe(eventBytes(made));
  });
});
