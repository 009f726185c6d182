import { createHash } from "node:crypto";
import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { canonicalJson } from "../canonical-json.js";

/**
 * Fingerprint of an append's content (payloads only; server-assigned fields ignored), kept
 * with its idempotency key so that the same key with other content is told apart (SESS-3).
 * It is taken over the payloads' canonical JSON, not their bytes: protobuf leaves the order
 * of map entries (and so of a Struct's keys) to the sender, and a retry re-encoded by a
 * client whose runtime orders them differently is still the same append. Unknown fields
 * take no part. `json` is that form of each event when the caller has it already.
 */
export function hashEvents(events: readonly Event[], json?: readonly JsonValue[]): Uint8Array {
  const payloads = json ?? events.map(payloadJson);
  return createHash("sha256").update(canonicalJson(payloads)).digest();
}

/** The protobuf JSON form of an event with its payload alone: what the fingerprint is taken over. */
export function payloadJson(event: Event): JsonValue {
  return toJson(EventSchema, create(EventSchema, { payload: event.payload }));
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
