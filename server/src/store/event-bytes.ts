import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";

/**
 * The binary form of an event's payload alone: what the size bounds count (SESS-7), and the
 * tail of the event's stored form (`storedEvent`).
 */
export function payloadBytes(event: Event): Uint8Array {
  return toBinary(EventSchema, create(EventSchema, { payload: event.payload }));
}

/** An event as the log stores it, and its binary form. */
export interface StoredEvent {
  readonly event: Event;
  readonly bytes: Uint8Array;
}

/**
 * The event the log stores, made of the server's fields and a payload, with its binary
 * form: the server's fields encoded, followed by the payload's bytes as its size check
 * encoded them (`payloadBytes`). A protobuf message is the concatenation of its fields, so
 * this decodes to the event; since the server's fields number below every payload's, it is
 * also byte for byte what `toBinary` makes of the whole event (event-bytes.test.ts). The
 * payload, most of an event, is so encoded once instead of once more for the storage.
 */
export function storedEvent(seq: bigint, id: string, createTime: Timestamp, payload: Event["payload"], encodedPayload: Uint8Array): StoredEvent {
  const event = create(EventSchema, { seq, id, createTime, payload });
  const headLength = writeHead(seq, id, createTime);
  const bytes = new Uint8Array(headLength + encodedPayload.length);
  bytes.set(head.subarray(0, headLength), 0);
  bytes.set(encodedPayload, headLength);
  return { event, bytes };
}

/** Room for the server's fields: two varints of at most 10 bytes, a timestamp of at most 22 and an id with its prefix. */
let head = new Uint8Array(256);
const utf8 = new TextEncoder();

/**
 * Writes seq (1), id (2) and create_time (3) of an Event into `head` as protobuf's binary
 * format has them, and returns their length. Written here, not with `toBinary`: a
 * protobuf-es writer allocates a 128-byte buffer and then a copy for every message, which
 * costs as much as encoding the whole event did. Implicit presence: zero values are left out.
 */
function writeHead(seq: bigint, id: string, createTime: Timestamp): number {
  const idBytes = Buffer.byteLength(id);
  if (head.length < idBytes + 64) head = new Uint8Array(idBytes + 64);
  let pos = 0;
  if (seq !== 0n) {
    head[pos++] = (1 << 3) | WireType.Varint;
    pos = writeVarint(head, pos, seq);
  }
  if (idBytes > 0) {
    head[pos++] = (2 << 3) | WireType.LengthDelimited;
    pos = writeVarint(head, pos, idBytes);
    pos += utf8.encodeInto(id, head.subarray(pos)).written;
  }
  const seconds = createTime.seconds;
  const nanos = createTime.nanos;
  const timestampLength = (seconds === 0n ? 0 : 1 + varintLength(seconds)) + (nanos === 0 ? 0 : 1 + varintLength(nanos));
  head[pos++] = (3 << 3) | WireType.LengthDelimited;
  head[pos++] = timestampLength;
  if (seconds !== 0n) {
    head[pos++] = (1 << 3) | WireType.Varint;
    pos = writeVarint(head, pos, seconds);
  }
  if (nanos !== 0) {
    head[pos++] = (2 << 3) | WireType.Varint;
    pos = writeVarint(head, pos, nanos);
  }
  return pos;
}

/**
 * An int64 or int32 value as protobuf's varint (a negative one as its 64-bit two's
 * complement, ten bytes); returns the position after it. Values a double holds exactly,
 * every seq and time in practice, take the cheaper path of number arithmetic.
 */
function writeVarint(into: Uint8Array, at: number, value: bigint | number): number {
  let pos = at;
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    let rest = Number(value);
    while (rest > 0x7f) {
      into[pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    into[pos++] = rest;
    return pos;
  }
  let rest = BigInt.asUintN(64, BigInt(value));
  while (rest > 0x7fn) {
    into[pos++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  into[pos++] = Number(rest);
  return pos;
}

/** Bytes `writeVarint` writes for the value. */
function varintLength(value: bigint | number): number {
  if (value < 0) return 10;
  let length = 1;
  if (value <= Number.MAX_SAFE_INTEGER) {
    for (let rest = Number(value); rest > 0x7f; rest = Math.floor(rest / 0x80)) length++;
  } else {
    for (let rest = BigInt(value); rest > 0x7fn; rest >>= 7n) length++;
  }
  return length;
}
