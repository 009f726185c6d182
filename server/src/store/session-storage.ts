import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";

/**
 * Persistence under the session log engine: plain reads and one atomic, durable write of
 * many operations. The engine (session-log.ts) owns every rule; a storage only keeps bytes.
 * LevelDB and memory implement it.
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
  /** Session ids in listing order (newest first), strictly after the cursor. */
  listIndex(cursor: string | undefined): AsyncIterable<IndexEntry>;
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
}

export interface IndexEntry {
  /** Opaque position in the listing; also the cursor to continue after it. */
  readonly position: string;
  readonly sessionId: string;
}

export interface IdempotencyRecord {
  /** SHA-256 of the appended events' encodings. */
  readonly hash: Uint8Array;
  readonly firstSeq: number;
  readonly count: number;
}

export type WriteOp =
  | { readonly kind: "createSession"; readonly meta: Session; readonly state: Session; readonly position: string }
  | { readonly kind: "putState"; readonly sessionId: string; readonly state: Session }
  | { readonly kind: "putEvents"; readonly sessionId: string; readonly events: readonly Event[] }
  | { readonly kind: "putIdempotency"; readonly sessionId: string; readonly key: string; readonly record: IdempotencyRecord }
  | { readonly kind: "putEpoch"; readonly sessionId: string; readonly epoch: number }
  | { readonly kind: "deleteSession"; readonly sessionId: string; readonly position: string };

/**
 * Listing position of a session: its creation time in microseconds, zero-padded hex, so
 * that a reverse key scan is newest first; the id breaks ties.
 */
export function listPosition(createMicros: number, sessionId: string): string {
  return `${createMicros.toString(16).padStart(14, "0")}!${sessionId}`;
}
