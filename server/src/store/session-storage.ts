import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { StoredEvent } from "./event-bytes.js";
import type { SessionRef } from "./session-ref.js";
import type { DispatchRecord } from "./session-store.js";

/**
 * Word between servers on one shared storage that a brain waits for a worker: a server
 * whose workers have room may claim it at once instead of at its next sweep. Only a hint,
 * never a record: one that is lost costs a sweep interval and nothing else (the dispatch
 * record in the log is what counts).
 */
export interface DispatchHints {
  announce(record: DispatchRecord): void;
  /** Calls `listener` with every record another server (or this one) announces, until the returned function is called. */
  listen(listener: (record: DispatchRecord) => void): () => void;
}

/**
 * Persistence under the session log engine (session-log.ts), which owns every rule; a
 * storage keeps bytes and offers the two things a log shared by several processes needs:
 * a conditional write (a session's write applies only if nobody wrote the session since
 * the revision the engine built it on) and a change feed (every committed change of a
 * session, in order, whoever wrote it). LevelDB and memory implement it for one process;
 * JetStream for many (jetstream/). A "session id" here is the session's store key
 * (`<tenant>/<id>`, session-ref.ts): an opaque string to the storage.
 */
export interface SessionStorage {
  /** True when other processes may write the same sessions: the engine's cache is then only a hint. */
  readonly shared: boolean;
  /** Shared storage: hints between servers that a dispatch record waits for a worker (see DispatchHints). */
  readonly dispatchHints?: DispatchHints;
  /**
   * The most one write may carry of events (their binary encoding) and idempotency keys
   * (`writePartBytes`), when the storage bounds the size of a write (a message bus's largest
   * message); the group commit splits a group to stay within it. Unset: no bound.
   */
  readonly maxWriteBytes?: number;
  /** The session's revision and epoch floor, and the session if it exists. */
  loadSession(sessionId: string): Promise<SessionHead>;
  /** Events with afterSeq < seq < beforeSeq, at most limit, from the low or high end. */
  readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]>;
  /** The key's record among everything committed to the session when the call is made. */
  getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Session keys of a tenant (or of all) in listing order (newest first), strictly after the cursor. */
  listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry>;
  /** Dispatch records in session-key order, strictly after the cursor (a session key). */
  listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord>;
  /**
   * Applies each write durably and atomically if its session's revision is still
   * `write.base`, or not at all; one outcome per write, in order. A write's watchers hear
   * of it before this resolves. Throws only when the storage itself failed.
   */
  write(writes: readonly SessionWrite[]): Promise<WriteOutcome[]>;
  /**
   * Every change committed to the session after `afterRevision`, in revision order, each
   * once, until the returned function is called.
   */
  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void;
  /** Removes events and idempotency keys of a session id written before `revision` (its deletion). */
  purge(sessionId: string, revision: number): Promise<void>;
  close(): Promise<void>;
}

/** What storage holds for a session id, existing or not. */
export interface SessionHead {
  /** Greater after every write to the id; 0 before the first. Survives DeleteSession. */
  readonly revision: number;
  /** Last lease epoch ever granted for this session id; survives DeleteSession. */
  readonly epoch: number;
  readonly session?: StoredSession;
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

/**
 * One atomic change of one session, built on revision `base`: what the session is after
 * it (state, epoch floor, dispatch record), and what it adds (events, keys).
 */
export interface SessionWrite {
  readonly sessionId: string;
  readonly base: number;
  /** Listing position; every write carries it. */
  readonly position: string;
  /** Present when the write creates the session. */
  readonly meta?: Session;
  /** The session is deleted: only `epoch` is kept. */
  readonly deleted?: boolean;
  readonly state: Session;
  readonly epoch: number;
  readonly dispatch?: DispatchRecord;
  /** The events it appends, each with its binary form (made once, by the log). */
  readonly events: readonly StoredEvent[];
  readonly keys: readonly { readonly key: string; readonly record: IdempotencyRecord }[];
}

export type WriteOutcome =
  | { readonly ok: true; readonly revision: number }
  /** `conflict`: the session moved past `base`; otherwise the write failed and may or may not have landed. */
  | { readonly ok: false; readonly conflict: boolean; readonly error?: unknown };

/** A committed change as the feed tells it. `local`: this storage instance wrote it. */
export type SessionChange =
  | {
      readonly kind: "changed"; readonly revision: number; readonly local: boolean; readonly state: Session; readonly epoch: number; readonly dispatch?: DispatchRecord; readonly events: readonly Event[];
      /** The session's fixed part, when this write created it. */
      readonly meta?: Session;
    }
  | { readonly kind: "deleted"; readonly revision: number; readonly local: boolean; readonly epoch: number };

export type ChangeListener = (change: SessionChange) => void;

/** The change a write makes, as watchers hear it. */
export function changeOf(write: SessionWrite, revision: number, local: boolean): SessionChange {
  return write.deleted
    ? { kind: "deleted", revision, local, epoch: write.epoch }
    : { kind: "changed", revision, local, state: write.state, epoch: write.epoch, ...(write.dispatch ? { dispatch: write.dispatch } : {}), events: write.events.map((e) => e.event), ...(write.meta ? { meta: write.meta } : {}) };
}

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
