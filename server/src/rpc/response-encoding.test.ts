import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { AppendEventsResponseSchema, EmitEventResponseSchema, GetEventsResponseSchema, WatchEventsResponseSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { rememberBytes, rememberedBytes } from "../protobuf/remembered-bytes.js";
import { payloadBytes, storedEvent } from "../store/event-bytes.js";
import { encodeResponse } from "./response-encoding.js";

/** An event as the log makes it: it remembers its stored bytes. */
function logged(seq: number, text: string): Event {
  const sent = create(EventSchema, { payload: { case: "custom", value: { type: "t", data: { text, n: seq } } } });
  return storedEvent(BigInt(seq), `evt_${seq}`, timestampFromMs(1_796_000_000_000 + seq), sent.payload, payloadBytes(sent)).event;
}

/** The same event without remembered bytes. */
const plain = (e: Event): Event => fromBinary(EventSchema, toBinary(EventSchema, e));

describe("a response's encoding with remembered event bytes", () => {
  it("decodes to the same message as toBinary's, for a single event, a list and a oneof", () => {
    const events = [logged(1, "a"), logged(2, "✓".repeat(200)), logged(3, "")];
    const responses = [
      [EmitEventResponseSchema, create(EmitEventResponseSchema, { event: events[0], duplicate: true })],
      [AppendEventsResponseSchema, create(AppendEventsResponseSchema, { events, duplicate: true })],
      [GetEventsResponseSchema, create(GetEventsResponseSchema, { events, headSeq: 300n })],
      [WatchEventsResponseSchema, create(WatchEventsResponseSchema, { message: { case: "event", value: events[1]! } })],
    ] as const;
    for (const [schema, message] of responses) {
      const bytes = encodeResponse(schema, message);
      expect(bytes.length).toBe(toBinary(schema, message).length);
      expect(equals(schema as never, fromBinary(schema, bytes) as never, message as never)).toBe(true);
    }
    // A oneof's event alone is the whole message: the bytes are toBinary's exactly.
    const watch = create(WatchEventsResponseSchema, { message: { case: "event", value: events[1]! } });
    expect(Buffer.from(encodeResponse(WatchEventsResponseSchema, watch)).equals(Buffer.from(toBinary(WatchEventsResponseSchema, watch)))).toBe(true);
  });

  it("sends the remembered bytes themselves, not a new encoding", () => {
    const impostor = rememberBytes(plain(logged(7, "seven")), toBinary(EventSchema, logged(8, "eight")));
    const decoded = fromBinary(EmitEventResponseSchema, encodeResponse(EmitEventResponseSchema, create(EmitEventResponseSchema, { event: impostor })));
    expect(decoded.event?.id).toBe("evt_8");
  });

  it("keeps a list's order when only some events remember their bytes", () => {
    const events = [plain(logged(1, "a")), logged(2, "b"), plain(logged(3, "c")), logged(4, "d")];
    const message = create(GetEventsResponseSchema, { events, headSeq: 4n });
    const decoded = fromBinary(GetEventsResponseSchema, encodeResponse(GetEventsResponseSchema, message));
    expect(decoded.events.map((e) => e.id)).toEqual(["evt_1", "evt_2", "evt_3", "evt_4"]);
    expect(equals(GetEventsResponseSchema, decoded, message)).toBe(true);
  });

  it("is toBinary's, byte for byte, when nothing is remembered, and leaves the message as it was", () => {
    const message = create(AppendEventsResponseSchema, { events: [plain(logged(1, "a")), plain(logged(2, "b"))], duplicate: true });
    expect(Buffer.from(encodeResponse(AppendEventsResponseSchema, message)).equals(Buffer.from(toBinary(AppendEventsResponseSchema, message)))).toBe(true);
    const remembered = create(AppendEventsResponseSchema, { events: [logged(1, "a")] });
    encodeResponse(AppendEventsResponseSchema, remembered);
    expect(remembered.events).toHaveLength(1);
  });

  it("is not inherited by a spread copy, which may differ", () => {
    const event = logged(1, "a");
    expect(rememberedBytes(event)).toBeDefined();
    const changed = { ...event, id: "evt_other" };
    expect(rememberedBytes(changed)).toBeUndefined();
    const decoded = fromBinary(EmitEventResponseSchema, encodeResponse(EmitEventResponseSchema, create(EmitEventResponseSchema, { event: changed })));
    expect(decoded.event?.id).toBe("evt_other");
  });
});
