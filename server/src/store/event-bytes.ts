import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { rememberBytes, rememberedBytes } from "../protobuf/remembered-bytes.js";
import { readVarint, varintLength, writeVarint } from "../protobuf/varint.js";

/**
 * The binary form of an event's payload alone: what the size bounds count (SESS-7), and the
 * tail of the event's stored form (`storedEvent`). An event that remembers the bytes it
 * arrived as (rpc/request-decoding.ts) gives those, when they are its payload field and
 * nothing else, as every client's encoder writes an event with only a payload; any other
 * event is encoded here.
 */
export function payloadBytes(event: Event): Uint8Array {
  const received = rememberedBytes(event);
  if (received && isPayloadAlone(received, event)) return received;
  return toBinary(EventSchema, create(EventSchema, { payload: event.payload }));
}

const payloadFieldNumbers = new Map(EventSchema.fields.filter((f) => f.oneof?.localName === "payload").map((f) => [f.localName, f.number]));

/**
 * Whether `bytes` are one field, the payload's: a tag, a length and exactly that much. Never
 * a server field (seq, id, create_time, which the stored form puts in front and a reader
 * would take the last of) nor anything else besides.
 */
function isPayloadAlone(bytes: Uint8Array, event: Event): boolean {
  const number = event.payload.case === undefined ? undefined : payloadFieldNumbers.get(event.payload.case);
  const tag = readVarint(bytes, 0);
  if (number === undefined || !tag || tag.value !== number * 8 + WireType.LengthDelimited) return false;
  const length = readVarint(bytes, tag.end);
  return length !== undefined && length.end + length.value === bytes.length;
}

/** An event as the log stores it, and its binary form. */
export interface StoredEvent {
  readonly event: Event;
  readonly bytes: Uint8Array;
}

/** What the log gives an event it appends: its server fields, and its payload as checked. */
export interface NewEvent {
  readonly seq: bigint;
  readonly id: string;
  readonly payload: Event["payload"];
  /** The payload's bytes (`payloadBytes`). */
  readonly encodedPayload: Uint8Array;
}

/**
 * The events the log stores, each made of the server's fields and a payload, with its binary
 * form: the server's fields encoded, followed by the payload's bytes as its size check
 * encoded them (`payloadBytes`). A protobuf message is the concatenation of its fields, so
 * this decodes to the event; since the server's fields number below every payload's, it is
 * also byte for byte what `toBinary` makes of the whole event (event-bytes.test.ts). The
 * payload, most of an event, is so encoded once instead of once more for the storage. The
 * events of a batch share one creation time, written once, and one buffer, each event's
 * bytes a view of it. Each event remembers its bytes (remembered-bytes.ts): the gRPC edge
 * sends them as they are.
 */
export function storedEvents(createTime: Timestamp, batch: readonly NewEvent[]): StoredEvent[] {
  const time = timestampField(createTime);
  let total = 0;
  for (const e of batch) total += headLength(e.seq, e.id) + time.length + e.encodedPayload.length;
  const buffer = Buffer.allocUnsafe(total);
  let pos = 0;
  return batch.map((e) => {
    const start = pos;
    if (e.seq !== 0n) {
      buffer[pos++] = (1 << 3) | WireType.Varint;
      pos = writeVarint(buffer, pos, e.seq);
    }
    if (e.id.length > 0) {
      buffer[pos++] = (2 << 3) | WireType.LengthDelimited;
      const idBytes = Buffer.byteLength(e.id);
      pos = writeVarint(buffer, pos, idBytes);
      pos += buffer.write(e.id, pos, idBytes, "utf8");
    }
    buffer.set(time, pos);
    pos += time.length;
    buffer.set(e.encodedPayload, pos);
    pos += e.encodedPayload.length;
    const bytes = buffer.subarray(start, pos);
    const event = create(EventSchema, { seq: e.seq, id: e.id, createTime, payload: e.payload });
    return { event: rememberBytes(event, bytes), bytes };
  });
}

/** One event of `storedEvents`. */
export function storedEvent(seq: bigint, id: string, createTime: Timestamp, payload: Event["payload"], encodedPayload: Uint8Array): StoredEvent {
  return storedEvents(createTime, [{ seq, id, payload, encodedPayload }])[0]!;
}

/** Bytes of seq (1) and id (2) as protobuf's binary format has them. Implicit presence: zero values are left out. */
function headLength(seq: bigint, id: string): number {
  const idBytes = id.length === 0 ? 0 : Buffer.byteLength(id);
  return (seq === 0n ? 0 : 1 + varintLength(seq)) + (idBytes === 0 ? 0 : 1 + varintLength(idBytes) + idBytes);
}

/**
 * create_time (3) as protobuf's binary format has it, written here, not with `toBinary`: a
 * protobuf-es writer allocates a 128-byte buffer and then a copy for every message, which
 * costs as much as encoding a whole event. Always present, even when zero (a message field).
 */
function timestampField(createTime: Timestamp): Uint8Array {
  const { seconds, nanos } = createTime;
  const length = (seconds === 0n ? 0 : 1 + varintLength(seconds)) + (nanos === 0 ? 0 : 1 + varintLength(nanos));
  const out = new Uint8Array(2 + length);
  let pos = 0;
  out[pos++] = (3 << 3) | WireType.LengthDelimited;
  out[pos++] = length;
  if (seconds !== 0n) {
    out[pos++] = (1 << 3) | WireType.Varint;
    pos = writeVarint(out, pos, seconds);
  }
  if (nanos !== 0) {
    out[pos++] = (2 << 3) | WireType.Varint;
    pos = writeVarint(out, pos, nanos);
  }
  return out;
}

/** An event read back from its stored bytes, which it remembers (remembered-bytes.ts). */
export function decodeStoredEvent(bytes: Uint8Array): Event {
  return rememberBytes(fromBinary(EventSchema, bytes), bytes);
}
