import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { SessionRef } from "./session-ref.js";
import type { DispatchRecord } from "./session-store.js";

/**
 * Persistence under the session log engine: plain reads and one atomic, durable write of
 * many operations. The engine (session-log.ts) owns every rule; a storage only keeps bytes.
 * LevelDB and memory implement it. A "session id" here is the session's store key
 * (`<tenant>/<id>`, session-ref.ts): an opaque string to the storage.
 */
export interface SessionStorage {
  /** The session's fixed part (id, labels, agent, create_time) and its mutable state. */
  loadSession(sessionId: string): Promise<StoredSession | undefined>;
  /** Only the fixed part, for views. */
  loadMeta(sessionId: string): Promise<Session | undefined>;
  /** Events with afterSeq < seq < beforeSeq, at most limit, from the low or high end. */
  readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]>;
  getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Last lease epoch ever granted for this session id; survives DeleteSession. */
  getEpoch(sessionId: string): Promise<number>;
  /** Session keys of a tenant (or of all) in listing order (newest first), strictly after the cursor. */
  listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry>;
  /** Dispatch records in session-key order, strictly after the cursor (a session key). */
  listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord>;
  /** Writes every operation atomically and durably (one synced batch), or none. */
  write(ops: readonly WriteOp[]): Promise<void>;
  /** Removes events and idempotency keys of a session id (after its deletion, before a re-create). */
  purge(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoredSession {
  readonly meta: Session;
  /** head_seq, status, stop_reason, update_time and the last granted lease. */
  readonly state: Session;
  /** The brain the server owes the session, if any. */
  readonly dispatch?: DispatchRecord;
}

export interface IndexEntry {
  /** Opaque position in the listing; also the cursor to continue after it. */
  readonly position: string;
  readonly ref: SessionRef;
}

export interface IdempotencyRecord {
  /** SHA-256 of the appended events' encodings. */
  readonly hash: Uint8Array;
  readonly firstSeq: number;
  readonly count: number;
}

export type WriteOp =
  | { readonly kind: "createSession"; readonly sessionId: string; readonly meta: Session; readonly state: Session; readonly position: string }
  | { readonly kind: "putState"; readonly sessionId: string; readonly state: Session }
  | { readonly kind: "putEvents"; readonly sessionId: string; readonly events: readonly Event[] }
  | { readonly kind: "putIdempotency"; readonly sessionId: string; readonly key: string; readonly record: IdempotencyRecord }
  | { readonly kind: "putEpoch"; readonly sessionId: string; readonly epoch: number }
  | { readonly kind: "putDispatch"; readonly sessionId: string; readonly record: DispatchRecord }
  | { readonly kind: "deleteDispatch"; readonly sessionId: string }
  /** Removes the session's metadata, state, listing entry and dispatch record. */
  | { readonly kind: "deleteSession"; readonly sessionId: string; readonly position: string };

/**
 * Listing position of a session: its tenant, then its creation time in microseconds,
 * zero-padded hex, so that a reverse scan of one tenant's range is newest first; the id
 * breaks ties. Tenant names hold no "/" and ids no "!", so the parts never run together.
 */
export function listPosition(ref: SessionRef, createMicros: number): string {
  return `${ref.tenant}/${createMicros.toString(16).padStart(14, "0")}!${ref.sessionId}`;
}

/** The session a listing position names. */
export function refOfPosition(position: string): SessionRef {
  return { tenant: position.slice(0, position.indexOf("/")), sessionId: position.slice(position.indexOf("!") + 1) };
}

/** The bounds of a tenant's positions (every position when tenant is undefined), for a key range scan. */
export function tenantRange(tenant: string | undefined): { gt?: string; lt?: string } {
  // "0" follows "/" in byte order, so [tenant + "/", tenant + "0") holds exactly its positions.
  return tenant === undefined ? {} : { gt: `${tenant}/`, lt: `${tenant}0` };
}
