import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";

/**
 * Fingerprint of an append's content (payloads only; server-assigned fields ignored), kept
 * with its idempotency key so that the same key with other content is told apart (SESS-3).
 */
export function hashEvents(events: readonly Event[]): Uint8Array {
  const hash = createHash("sha256");
  const length = Buffer.alloc(4);
  for (const event of events) {
    const bytes = toBinary(EventSchema, create(EventSchema, { payload: event.payload }));
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest();
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
