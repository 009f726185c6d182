import type { IdempotencyRecord } from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";

/**
 * Fixed binary layouts of the two small records that have no proto message:
 * an idempotency record is 32 bytes of hash, then first seq (u64 BE) and count (u32 BE);
 * a head is the epoch floor and the revision, u64 BE each. A dispatch record is JSON (its harness id is a string).
 */
const HASH_BYTES = 32;

export function encodeIdempotency(record: IdempotencyRecord): Uint8Array {
  const out = new Uint8Array(HASH_BYTES + 12);
  out.set(record.hash.subarray(0, HASH_BYTES));
  const view = new DataView(out.buffer);
  view.setBigUint64(HASH_BYTES, BigInt(record.firstSeq));
  view.setUint32(HASH_BYTES + 8, record.count);
  return out;
}

export function decodeIdempotency(bytes: Uint8Array): IdempotencyRecord {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    hash: bytes.slice(0, HASH_BYTES),
    firstSeq: Number(view.getBigUint64(HASH_BYTES)),
    count: view.getUint32(HASH_BYTES + 8),
  };
}

/** A session id's head: epoch floor (u64 BE), then revision (u64 BE); an 8-byte record is an epoch of revision 0. */
export function encodeHead(head: { readonly revision: number; readonly epoch: number }): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.epoch));
  view.setBigUint64(8, BigInt(head.revision));
  return out;
}

export function decodeHead(bytes: Uint8Array): { revision: number; epoch: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { epoch: Number(view.getBigUint64(0)), revision: bytes.byteLength >= 16 ? Number(view.getBigUint64(8)) : 0 };
}

export function encodeDispatch(record: DispatchRecord): Uint8Array {
  const { ref, harnessId, epoch, wakeSeq, wakeTime, claimedBy } = record;
  return new TextEncoder().encode(JSON.stringify({ tenant: ref.tenant, sessionId: ref.sessionId, harnessId, epoch, wakeSeq, wakeTime, ...(claimedBy === undefined ? {} : { claimedBy }) }));
}

export function decodeDispatch(bytes: Uint8Array): DispatchRecord {
  const p = JSON.parse(new TextDecoder().decode(bytes)) as { tenant: string; sessionId: string; harnessId: string; epoch: number; wakeSeq: number; wakeTime: number; claimedBy?: string };
  return { ref: { tenant: p.tenant, sessionId: p.sessionId }, harnessId: p.harnessId, epoch: p.epoch, wakeSeq: p.wakeSeq, wakeTime: p.wakeTime, ...(p.claimedBy === undefined ? {} : { claimedBy: p.claimedBy }) };
}
