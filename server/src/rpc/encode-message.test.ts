import { create, fromBinary, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { EmitEventResponseSchema, EmitEventsResponseSchema, GetEventsResponseSchema, WatchEventsResponseSchema, GetSessionResponseSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { decodeEvent } from "../store/event-bytes.js";
import { encodeMessage } from "./encode-message.js";

const event = (seq: number) => create(EventSchema, { seq: BigInt(seq), id: `evt_${seq}`, payload: { case: "custom", value: { type: "t", data: { n: seq, s: "x".repeat(seq) } } } });

/** Same message after a round trip through `encodeMessage`'s bytes. */
function roundTrip<T extends Message>(schema: DescMessage, message: T): void {
  expect(fromBinary(schema, encodeMessage(schema, message))).toEqual(fromBinary(schema, toBinary(schema, message)));
}

describe("encodeMessage (responses carrying events)", () => {
  it("decodes to the same message as toBinary's bytes: repeated, single and oneof event fields, empty ones, and messages without events", () => {
    roundTrip(GetEventsResponseSchema, create(GetEventsResponseSchema, { events: [event(1), event(2), event(3)], headSeq: 9n }));
    roundTrip(GetEventsResponseSchema, create(GetEventsResponseSchema, { events: [], headSeq: 9n }));
    roundTrip(EmitEventsResponseSchema, create(EmitEventsResponseSchema, { events: [event(4)], duplicate: true }));
    roundTrip(EmitEventResponseSchema, create(EmitEventResponseSchema, { event: event(5), duplicate: false }));
    roundTrip(EmitEventResponseSchema, create(EmitEventResponseSchema, {}));
    roundTrip(WatchEventsResponseSchema, create(WatchEventsResponseSchema, { message: { case: "event", value: event(6) } }));
    roundTrip(WatchEventsResponseSchema, create(WatchEventsResponseSchema, { message: { case: "caughtUp", value: { headSeq: 6n } } }));
    roundTrip(GetSessionResponseSchema, create(GetSessionResponseSchema, { session: { sessionId: "s", headSeq: 3n } }));
  });

  it("writes an event from the bytes kept for it, not encoded again, and leaves the message it was given as it was", () => {
    // Bytes that toBinary would not write (fields in another order) show which were used.
    const reordered = new Uint8Array([...toBinary(EventSchema, create(EventSchema, { id: "evt_r" })), ...toBinary(EventSchema, create(EventSchema, { seq: 12n }))]);
    const kept = decodeEvent(reordered);
    const response = create(GetEventsResponseSchema, { events: [kept], headSeq: 12n });
    const bytes = encodeMessage(GetEventsResponseSchema, response);
    expect(Buffer.from(bytes).includes(Buffer.from(reordered))).toBe(true);
    expect(fromBinary(GetEventsResponseSchema, bytes).events[0]).toMatchObject({ seq: 12n, id: "evt_r" });
    expect(response.events).toEqual([kept]);
  });
});
