import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { AppendEventsRequestSchema, CreateSessionRequestSchema, EmitEventRequestSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { rememberedBytes } from "../protobuf/remembered-bytes.js";
import { rememberingDecoder } from "./request-decoding.js";

const decode = rememberingDecoder([EventSchema]);
const custom = (n: number) => create(EventSchema, { payload: { case: "custom", value: { type: "t", data: { n, text: "✓".repeat(n) } } } });

describe("a request decoder that remembers received events", () => {
  it("has each event of a list remember exactly the bytes it arrived as", () => {
    const events = [custom(1), custom(200), custom(3)];
    const bytes = toBinary(AppendEventsRequestSchema, create(AppendEventsRequestSchema, { sessionId: "s", events, idempotencyKey: "k" }));
    const request = decode(AppendEventsRequestSchema, bytes) as ReturnType<typeof fromBinary<typeof AppendEventsRequestSchema>>;
    expect(request.events).toHaveLength(3);
    request.events.forEach((event, i) => expect(Buffer.from(rememberedBytes(event)!).equals(Buffer.from(toBinary(EventSchema, events[i]!)))).toBe(true));
  });

  it("remembers a single event, and nothing when the field occurs twice (a reader merges the two)", () => {
    const one = toBinary(EmitEventRequestSchema, create(EmitEventRequestSchema, { sessionId: "s", event: custom(1) }));
    const single = decode(EmitEventRequestSchema, one) as ReturnType<typeof fromBinary<typeof EmitEventRequestSchema>>;
    expect(Buffer.from(rememberedBytes(single.event)!).equals(Buffer.from(toBinary(EventSchema, custom(1))))).toBe(true);
    const twice = Buffer.concat([one, toBinary(EmitEventRequestSchema, create(EmitEventRequestSchema, { event: custom(2) }))]);
    const merged = decode(EmitEventRequestSchema, twice) as ReturnType<typeof fromBinary<typeof EmitEventRequestSchema>>;
    expect(merged.event?.payload.case).toBe("custom");
    expect(rememberedBytes(merged.event)).toBeUndefined();
  });

  it("leaves messages of other kinds alone", () => {
    const bytes = toBinary(CreateSessionRequestSchema, create(CreateSessionRequestSchema, { sessionId: "s", agent: { model: "m" } }));
    const request = decode(CreateSessionRequestSchema, bytes) as ReturnType<typeof fromBinary<typeof CreateSessionRequestSchema>>;
    expect(request.agent?.model).toBe("m");
    expect(rememberedBytes(request.agent)).toBeUndefined();
  });
});
