import type { JsonValue } from "@bufbuild/protobuf";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { AgentConfig, Lease, Session, SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { SessionRef } from "./session-ref.js";
import type { DispatchHints } from "./session-storage.js";

export type { SessionRef } from "./session-ref.js";

/**
 * The durable log of every session and the leases that fence its writers. Domain level:
 * no transport types, errors are OmaError with SPEC reasons. Two implementations pass the
 * same contract suite (session-store.contract.ts): LevelDB on disk and memory for units.
 * Every session belongs to a tenant and is named by a SessionRef; another tenant's session
 * does not exist for a ref of this tenant (SEC-10).
 */
export interface SessionStore {
  /** On a store several servers share: word between them that a brain waits for a worker (session-storage.ts). */
  readonly dispatchHints?: DispatchHints;
  /** Creates a session with head 0 and status IDLE; SESSION_EXISTS if the id is taken in its tenant. */
  createSession(input: CreateSessionInput): Promise<Session>;
  /** The session with its committed head, status, stop reason and live lease (SESS-14/15). */
  getSession(ref: SessionRef): Promise<Session>;
  /** Sessions of a tenant (or of every tenant) newest first, after an opaque cursor, keeping those that match. */
  listSessions(query: ListQuery): Promise<ListPage>;
  /** Removes the session, its events, idempotency keys and lease (SESS-19); watchers get "deleted". */
  deleteSession(ref: SessionRef): Promise<void>;

  /**
   * Appends events atomically with consecutive seqs, acknowledged only once durable
   * (SESS-1, SESS-4, SESS-5). Checks, in order: idempotency (SESS-3), terminated (SESS-8),
   * expected head (SESS-2), lease epoch (SESS-10). A rejected append writes nothing.
   * The events' seq, id and create_time are assigned here.
   */
  append(ref: SessionRef, events: readonly Event[], options?: AppendOptions): Promise<AppendResult>;
  /** A positional slice of committed events (SESS-11); cost independent of log length. */
  readEvents(ref: SessionRef, query: ReadQuery): Promise<ReadResult>;

  /**
   * Takes the lease with a new, greater epoch (SESS-10); LEASE_HELD if one is live. With
   * `dispatch`, the same atomic write records that the server owes the session a brain
   * (a Wake answered OK, HARN-27): the dispatch record, which replaces any earlier one.
   */
  acquireLease(ref: SessionRef, holder: string, ttlMs: number, options?: AcquireLeaseOptions): Promise<Lease>;
  /** Extends the live lease of that epoch; LEASE_LOST otherwise. */
  renewLease(ref: SessionRef, epoch: number, ttlMs: number): Promise<Lease>;
  /** Ends the lease of that epoch at once; idempotent for the last granted epoch (SESS-17). */
  releaseLease(ref: SessionRef, epoch: number): Promise<void>;

  /**
   * Committed dispatch records of every tenant, in store-key order, after an opaque cursor:
   * every session a dispatcher woke and has not yet settled. A restarted dispatcher starts
   * from these, so nothing it owes lives only in a process's memory.
   */
  listDispatches(query: { readonly pageSize: number; readonly cursor?: string }): Promise<DispatchPage>;
  /**
   * Removes the session's dispatch record if it is still the one of `harnessId` (a later
   * Wake's record stays); nothing happens otherwise, or when the session is gone.
   */
  endDispatch(ref: SessionRef, harnessId: string): Promise<void>;
  /**
   * Compare-and-set of the dispatch record's claim: sets `claimedBy` to `to` only if the
   * record of `harnessId` is still there and claimed by `from` (undefined: by none).
   * True when the claim is `to` afterwards. What makes a brain go to one server's worker only.
   */
  claimDispatch(ref: SessionRef, harnessId: string, from: string | undefined, to: string | undefined): Promise<boolean>;

  /**
   * Registers a listener for committed events of a session. The returned head is the
   * committed head at registration: every later commit is delivered to the listener, in
   * seq order, synchronously after it becomes durable.
   */
  subscribe(ref: SessionRef, listener: LogListener): Promise<Subscription>;

  /** Ends subscriptions (with "closed") and waits for in-flight writes. */
  close(): Promise<void>;
}

export interface CreateSessionInput {
  /** The tenant that will own it. */
  readonly tenant: string;
  /** Already validated (WIRE-8); the store only checks that it is free in the tenant. */
  readonly sessionId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly agent: AgentConfig;
}

export interface AcquireLeaseOptions {
  /** Record the acquisition as a dispatched brain (see DispatchRecord). */
  readonly dispatch?: boolean;
}

/** A brain the server dispatched for a Wake, kept until the session needs no brain (HARN-27). */
export interface DispatchRecord {
  readonly ref: SessionRef;
  /** The lease holder the Wake created. */
  readonly harnessId: string;
  readonly epoch: number;
  /** Head of the log when the lease was taken: the brain's `harness_started` comes after it. */
  readonly wakeSeq: number;
  /** When the lease was taken, ms since the epoch. */
  readonly wakeTime: number;
  /**
   * On a store several servers share: the server (its instance id) that handed the brain
   * to one of its workers; undefined while no server has (any server with room may claim it).
   */
  readonly claimedBy?: string;
}

export interface DispatchPage {
  readonly dispatches: DispatchRecord[];
  /** Cursor of the next page; undefined on the last page. */
  readonly nextCursor?: string;
}

export interface ListQuery {
  /** Only this tenant's sessions; undefined for every tenant's (the server's own sweeps). */
  readonly tenant: string | undefined;
  /** Most sessions to return (>= 1). */
  readonly pageSize: number;
  /** Cursor returned by the previous page; undefined for the first page. */
  readonly cursor?: string;
  /** Only sessions with this status; UNSPECIFIED (0) means any. */
  readonly status: SessionStatus;
  /** Only sessions whose labels contain every one of these pairs. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ListPage {
  readonly sessions: Session[];
  /** Cursor of the next page; undefined on the last page. */
  readonly nextCursor?: string;
}

export interface AppendOptions {
  readonly expectedHeadSeq?: number;
  readonly idempotencyKey?: string;
  readonly leaseEpoch?: number;
  /**
   * The binary form of each event's payload (`payloadBytes`, store/event-bytes.ts), when the
   * caller made it already (the size check of validateEvents); the log encodes them otherwise.
   */
  readonly encoded?: readonly Uint8Array[];
  /**
   * The protobuf JSON form of each event's payload (`toJson` of an event with the payload
   * alone), when the caller made it already (validateEvents' check that there is one); the
   * idempotency fingerprint is taken over it, made here otherwise.
   */
  readonly json?: readonly JsonValue[];
}

export interface AppendResult {
  /** The events as stored (or, for a duplicate, as originally stored). */
  readonly events: Event[];
  /** True when the idempotency key matched an earlier append; nothing was written. */
  readonly duplicate: boolean;
}

export interface ReadQuery {
  /** Exclusive lower bound, >= 0 and <= head. */
  readonly afterSeq: number;
  /** Exclusive upper bound; 0 means none. */
  readonly beforeSeq: number;
  /** Most events (>= 1). */
  readonly limit: number;
  /** "asc": the lowest seqs of the range, ascending; "desc": the highest, descending. */
  readonly order: "asc" | "desc";
}

export interface ReadResult {
  readonly events: Event[];
  readonly headSeq: number;
}

/** What a subscription hears: committed events, or the end of the session or of the store. */
export type LogSignal =
  | { readonly kind: "events"; readonly events: readonly Event[] }
  | { readonly kind: "deleted" }
  | { readonly kind: "closed" };

export type LogListener = (signal: LogSignal) => void;

export interface Subscription {
  /** Committed head when the listener was registered. */
  readonly headSeq: number;
  unsubscribe(): void;
}

/** A clock in milliseconds since the epoch; injectable so lease expiry is testable. */
export type Clock = () => number;
