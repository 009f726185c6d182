import { create, fromBinary, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";

/**
 * Each event is encoded once. An append used to encode every event three times (the size
 * check, the write, the acknowledgement) and turn it into JSON twice (the JSON check, the
 * idempotency hash); a GetEvents encoded again what it had just decoded. Here:
 * - a payload's encoding and JSON, as an event holding only that payload, are kept with the
 *   payload (every copy of the event the append path makes shares the payload's message);
 * - a stored event's encoding is its server-assigned fields' (seq 1, id 2, create_time 3)
 *   followed by its payload's (fields 10 and up): the bytes `toBinary` would write;
 * - an event read from storage keeps the bytes it was decoded from.
 * Events and payloads are never changed once made (the log hands out what it stores), so a
 * kept encoding cannot go stale.
 */
const byPayload = new WeakMap<object, { bytes?: Uint8Array; json?: JsonValue }>();
const byEvent = new WeakMap<Event, Uint8Array>();

function payloadEntry(event: Event): { bytes?: Uint8Array; json?: JsonValue } | undefined {
  const value = event.payload.value;
  if (value === undefined) return undefined;
  let entry = byPayload.get(value);
  if (!entry) byPayload.set(value, (entry = {}));
  return entry;
}

const payloadOnly = (event: Event): Event => create(EventSchema, { payload: event.payload });

/** The encoding of the event reduced to its payload. */
export function payloadBytes(event: Event): Uint8Array {
  const entry = payloadEntry(event);
  if (!entry) return toBinary(EventSchema, payloadOnly(event));
  return (entry.bytes ??= toBinary(EventSchema, payloadOnly(event)));
}

/** The JSON of the event reduced to its payload. */
export function payloadJson(event: Event): JsonValue {
  const entry = payloadEntry(event);
  if (!entry) return toJson(EventSchema, payloadOnly(event));
  return (entry.json ??= toJson(EventSchema, payloadOnly(event)));
}

/** The event as the log stores it: the payload of `event` with the fields the server assigns. */
export function storedEvent(event: Event, seq: bigint, id: string, createTime: Timestamp): Event {
  const stored = create(EventSchema, { seq, id, createTime, payload: event.payload });
  const head = toBinary(EventSchema, create(EventSchema, { seq, id, createTime }));
  const payload = payloadBytes(event);
  const bytes = new Uint8Array(head.length + payload.length);
  bytes.set(head);
  bytes.set(payload, head.length);
  byEvent.set(stored, bytes);
  return stored;
}

/** The event's encoding, made once per event. */
export function eventBytes(event: Event): Uint8Array {
  let bytes = byEvent.get(event);
  if (!bytes) byEvent.set(event, (bytes = toBinary(EventSchema, event)));
  return bytes;
}

/** The event these bytes encode; its encoding is then these bytes. */
export function decodeEvent(bytes: Uint8Array): Event {
  const event = fromBinary(EventSchema, bytes);
  byEvent.set(event, bytes);
  return event;
}

/** The encoding kept for this event, if any (for encoders that fall back to their own). */
export function knownEventBytes(event: Event): Uint8Array | undefined {
  return byEvent.get(event);
}
