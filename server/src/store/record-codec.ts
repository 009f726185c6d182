import type { IdempotencyRecord } from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";

/**
 * Fixed binary layouts of the two small records that have no proto message:
 * an idempotency record is 32 bytes of hash, then first seq (u64 BE) and count (u32 BE);
 * an epoch is one u64 BE. A dispatch record is JSON (its harness id is a string).
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

export function encodeUint64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function decodeUint64(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0));
}

export function encodeDispatch(record: DispatchRecord): Uint8Array {
  const { ref, harnessId, epoch, wakeSeq, wakeTime } = record;
  return new TextEncoder().encode(JSON.stringify({ tenant: ref.tenant, sessionId: ref.sessionId, harnessId, epoch, wakeSeq, wakeTime }));
}

export function decodeDispatch(bytes: Uint8Array): DispatchRecord {
  const p = JSON.parse(new TextDecoder().decode(bytes)) as { tenant: string; sessionId: string; harnessId: string; epoch: number; wakeSeq: number; wakeTime: number };
  return { ref: { tenant: p.tenant, sessionId: p.sessionId }, harnessId: p.harnessId, epoch: p.epoch, wakeSeq: p.wakeSeq, wakeTime: p.wakeTime };
}
