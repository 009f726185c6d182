import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionSchema, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { decodeStoredEvent } from "../event-bytes.js";
import type { IdempotencyRecord, SessionWrite } from "../session-storage.js";
import type { DispatchRecord } from "../session-store.js";

/**
 * One message on a session's subject: one session write, whole. It says what the session
 * is after it (state, epoch floor, dispatch record, listing position), what it adds (a
 * batch of events, idempotency keys) and where the session's fixed part is (`metaSeq`,
 * the stream seq of the message that created it; 0 when this message is that one). A
 * deletion is a tombstone that keeps only the epoch floor.
 *
 * A message is part of the log only if it directly follows its base on the subject (no
 * message of the subject between `base` and itself): see `follows` and README.md.
 */
export interface SessionMessage {
  /** The subject's last stream seq the write was built on (0: none). */
  readonly base: number;
  readonly deleted: boolean;
  readonly position: string;
  readonly metaSeq: number;
  readonly meta?: Session;
  readonly state?: Session;
  readonly epoch: number;
  readonly dispatch?: DispatchRecord;
  readonly events: Event[];
  readonly keys: { readonly key: string; readonly record: IdempotencyRecord }[];
}

/** The wire form: JSON, protobuf messages as base64 of their binary encoding. */
interface Wire {
  b: number;
  d?: 1;
  p: string;
  ms: number;
  m?: string;
  s?: string;
  ep: number;
  dp?: { t: string; i: string; h: string; e: number; ws: number; wt: number; c?: string };
  ev?: string[];
  k?: [string, string, number, number][];
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const bytes = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

export function encodeWrite(write: SessionWrite, metaSeq: number): Uint8Array {
  const wire: Wire = { b: write.base, p: write.position, ms: write.meta ? 0 : metaSeq, ep: write.epoch };
  if (write.deleted) wire.d = 1;
  else {
    if (write.meta) wire.m = b64(toBinary(SessionSchema, write.meta));
    wire.s = b64(toBinary(SessionSchema, write.state));
    const d = write.dispatch;
    if (d) wire.dp = { t: d.ref.tenant, i: d.ref.sessionId, h: d.harnessId, e: d.epoch, ws: d.wakeSeq, wt: d.wakeTime, ...(d.claimedBy === undefined ? {} : { c: d.claimedBy }) };
    if (write.events.length > 0) wire.ev = write.events.map((e) => b64(e.bytes));
    if (write.keys.length > 0) wire.k = write.keys.map((k) => [k.key, b64(k.record.hash), k.record.firstSeq, k.record.count]);
  }
  return new TextEncoder().encode(JSON.stringify(wire));
}

/** Decodes a message stored at stream seq `seq`. */
export function decodeMessage(data: Uint8Array, seq: number): SessionMessage {
  const w = JSON.parse(new TextDecoder().decode(data)) as Wire;
  return {
    base: w.b,
    deleted: w.d === 1,
    position: w.p,
    metaSeq: w.ms === 0 && w.m ? seq : w.ms,
    ...(w.m ? { meta: fromBinary(SessionSchema, bytes(w.m)) } : {}),
    ...(w.s ? { state: fromBinary(SessionSchema, bytes(w.s)) } : {}),
    epoch: w.ep,
    ...(w.dp ? { dispatch: { ref: { tenant: w.dp.t, sessionId: w.dp.i }, harnessId: w.dp.h, epoch: w.dp.e, wakeSeq: w.dp.ws, wakeTime: w.dp.wt, ...(w.dp.c === undefined ? {} : { claimedBy: w.dp.c }) } } : {}),
    events: (w.ev ?? []).map((e) => decodeStoredEvent(bytes(e))),
    keys: (w.k ?? []).map(([key, hash, firstSeq, count]) => ({ key, record: { hash: bytes(hash), firstSeq, count } })),
  };
}

/** The subject of a session (store key `<tenant>/<id>`): `<prefix>.<tenant>.<id>`, each part base64url. */
export function subjectOf(prefix: string, sessionId: string): string {
  const slash = sessionId.indexOf("/");
  const part = (s: string) => Buffer.from(s).toString("base64url");
  return `${prefix}.${part(sessionId.slice(0, slash))}.${part(sessionId.slice(slash + 1))}`;
}

/** The subjects of one tenant's sessions (or of every tenant's). */
export function tenantFilter(prefix: string, tenant: string | undefined): string {
  return tenant === undefined ? `${prefix}.>` : `${prefix}.${Buffer.from(tenant).toString("base64url")}.*`;
}

/** Whether a message at `seq` built on `base` is part of the log, given the subject's message before it (0: none). */
export function follows(base: number, previous: number): boolean {
  return previous <= base;
}

/** A dispatch hint's bytes: the record as it is kept in a session message. */
export function encodeDispatchHint(d: DispatchRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ t: d.ref.tenant, i: d.ref.sessionId, h: d.harnessId, e: d.epoch, ws: d.wakeSeq, wt: d.wakeTime }));
}

/** The record of a hint; undefined for bytes that are not one (a hint is never trusted further than a claim). */
export function decodeDispatchHint(data: Uint8Array): DispatchRecord | undefined {
  try {
    const w = JSON.parse(new TextDecoder().decode(data)) as { t?: unknown; i?: unknown; h?: unknown; e?: unknown; ws?: unknown; wt?: unknown };
    if (typeof w.t !== "string" || typeof w.i !== "string" || typeof w.h !== "string" || typeof w.e !== "number" || typeof w.ws !== "number" || typeof w.wt !== "number") return undefined;
    return { ref: { tenant: w.t, sessionId: w.i }, harnessId: w.h, epoch: w.e, wakeSeq: w.ws, wakeTime: w.wt };
  } catch {
    return undefined;
  }
}
