import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { LeaseSchema, SessionSchema, SessionStatus, type Lease, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { OmaError } from "../errors/oma-error.js";
import { leaseLost, liveLease, notFound, sessionView, terminated } from "./session-view.js";
import { hashEvents, sameHash } from "./event-hash.js";
import { GroupCommitter } from "./group-committer.js";
import { newId } from "./ids.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { sessionKey, type SessionRef } from "./session-ref.js";
import { listPosition, type SessionStorage, type WriteOp } from "./session-storage.js";
import type {
  AcquireLeaseOptions, AppendOptions, AppendResult, Clock, CreateSessionInput, DispatchPage, DispatchRecord, ListPage, ListQuery,
  LogListener, ReadQuery, ReadResult, SessionStore, Subscription,
} from "./session-store.js";

/** Sessions kept in memory (heads, leases) before idle ones are evicted; about 1 KB each. */
export const DEFAULT_MAX_CACHED_SESSIONS = 100_000;

export interface SessionLogOptions {
  readonly now?: Clock;
  /** Bound of the in-memory session cache (DEFAULT_MAX_CACHED_SESSIONS). */
  readonly maxCachedSessions?: number;
}

/** A session the engine has loaded: its committed state, and the tip with reserved appends. */
interface LiveSession {
  /** Its store key (session-ref.ts). */
  readonly id: string;
  readonly ref: SessionRef;
  readonly position: string;
  /** State as durable on disk: what readers see. */
  committed: Session;
  /** State after every accepted but not yet durable change: what writers are checked against. */
  tip: Session;
  /** Greatest epoch ever granted under this id, including before a delete. */
  epochFloor: number;
  /** The dispatch record after every accepted change (see DispatchRecord). */
  dispatch: DispatchRecord | undefined;
  readonly pendingKeys: Map<string, { readonly hash: Uint8Array; readonly firstSeq: number; readonly done: Promise<AppendResult> }>;
  readonly listeners: Set<LogListener>;
}

/**
 * Every rule of the session log over any SessionStorage: per-session seq assignment under
 * a short lock, validation before anything is written, group commit of synced batches,
 * idempotency, fencing by lease epoch, and notification of watchers once durable.
 */
export class SessionLog implements SessionStore {
  readonly #storage: SessionStorage;
  readonly #now: Clock;
  readonly #committer: GroupCommitter;
  readonly #mutex = new KeyedMutex();
  readonly #live = new Map<string, LiveSession>();
  readonly #loading = new Map<string, Promise<LiveSession | undefined>>();
  readonly #maxCached: number;
  #deletions = 0;
  #lastMicros = 0;
  #closed = false;

  constructor(storage: SessionStorage, options: SessionLogOptions = {}) {
    this.#storage = storage;
    this.#maxCached = options.maxCachedSessions ?? DEFAULT_MAX_CACHED_SESSIONS;
    this.#now = options.now ?? Date.now;
    this.#committer = new GroupCommitter(storage);
  }

  async createSession(input: CreateSessionInput): Promise<Session> {
    const ref: SessionRef = { tenant: input.tenant, sessionId: input.sessionId };
    const id = sessionKey(ref);
    return this.#mutex.run(id, async () => {
      this.#checkOpen();
      if (await this.#load(ref)) throw new OmaError("SESSION_EXISTS", `session ${ref.sessionId} already exists`, { session_id: ref.sessionId });
      await this.#storage.purge(id); // leftovers of a delete cut short by a crash
      const nowMs = this.#now();
      this.#lastMicros = Math.max(nowMs * 1000, this.#lastMicros + 1);
      const createTime = timestampFromMs(0);
      createTime.seconds = BigInt(Math.floor(this.#lastMicros / 1e6));
      createTime.nanos = (this.#lastMicros % 1e6) * 1000;
      const meta = create(SessionSchema, { sessionId: ref.sessionId, tenant: ref.tenant, labels: { ...input.labels }, agent: input.agent, createTime });
      const state = create(SessionSchema, { status: SessionStatus.IDLE, headSeq: 0n, updateTime: createTime });
      const position = listPosition(ref, this.#lastMicros);
      const epochFloor = await this.#storage.getEpoch(id);
      await this.#submit([{ kind: "createSession", sessionId: id, meta, state, position }], () => {
        // A concurrent reader may have loaded the new session already; keep that one.
        if (!this.#live.has(id)) this.#remember({ id, ref, position, committed: state, tip: state, epochFloor, dispatch: undefined, pendingKeys: new Map(), listeners: new Set() });
      });
      return sessionView(meta, state, nowMs);
    });
  }

  async getSession(ref: SessionRef): Promise<Session> {
    const live = await this.#require(ref);
    const meta = await this.#storage.loadMeta(live.id);
    if (!meta) throw notFound(ref.sessionId);
    return sessionView(meta, live.committed, this.#now());
  }

  async listSessions(query: ListQuery): Promise<ListPage> {
    const sessions: Session[] = [];
    let lastPosition: string | undefined;
    const wanted = Object.entries(query.labels);
    for await (const entry of this.#storage.listIndex(query.tenant, query.cursor)) {
      const live = await this.#load(entry.ref);
      if (!live) continue;
      if (query.status !== SessionStatus.UNSPECIFIED && live.committed.status !== query.status) continue;
      const meta = await this.#storage.loadMeta(live.id);
      if (!meta || !wanted.every(([k, v]) => meta.labels[k] === v)) continue;
      // One match beyond the page proves there is a next page.
      if (sessions.length === query.pageSize) return { sessions, nextCursor: lastPosition };
      sessions.push(sessionView(meta, live.committed, this.#now()));
      lastPosition = entry.position;
    }
    return { sessions };
  }

  async deleteSession(ref: SessionRef): Promise<void> {
    const id = sessionKey(ref);
    await this.#mutex.run(id, async () => {
      this.#checkOpen();
      const live = await this.#require(ref);
      await this.#submit([{ kind: "deleteSession", sessionId: id, position: live.position }], () => {
        this.#deletions++;
        this.#live.delete(id);
        for (const listener of live.listeners) listener({ kind: "deleted" });
        live.listeners.clear();
      });
      await this.#storage.purge(id);
    });
  }

  async append(ref: SessionRef, events: readonly Event[], options: AppendOptions = {}): Promise<AppendResult> {
    const key = options.idempotencyKey;
    const hash = key === undefined ? undefined : hashEvents(events);
    const sessionId = ref.sessionId;
    const id = sessionKey(ref);
    const outcome = await this.#mutex.run(id, async () => {
      this.#checkOpen();
      const live = await this.#require(ref);
      if (key !== undefined && hash !== undefined) {
        // Pending first: a key leaves the pending map only after it is durable, so a
        // storage miss after this check cannot hide an append in flight (SESS-3).
        const pending = live.pendingKeys.get(key);
        if (pending) return { kind: "pending" as const, hash: pending.hash, firstSeq: pending.firstSeq, done: pending.done };
        const record = await this.#storage.getIdempotency(id, key);
        if (record) return { kind: "stored" as const, hash: record.hash, firstSeq: record.firstSeq, count: record.count };
      }
      return { kind: "new" as const, done: this.#reserveAppend(live, events, options, hash) };
    });
    if (outcome.kind === "new") return outcome.done;
    if (!sameHash(outcome.hash, hash!)) {
      throw new OmaError("IDEMPOTENCY_KEY_REUSED", "idempotency key was used for different events", {
        session_id: sessionId, idempotency_key: key, original_seq: outcome.firstSeq,
      });
    }
    if (outcome.kind === "pending") return { events: (await outcome.done).events, duplicate: true };
    const original = await this.#storage.readEvents(id, outcome.firstSeq - 1, outcome.firstSeq + outcome.count, outcome.count, false);
    return { events: original, duplicate: true };
  }

  /** Checks and reserves seqs synchronously (under the session's lock); resolves once durable. */
  #reserveAppend(live: LiveSession, input: readonly Event[], options: AppendOptions, hash: Uint8Array | undefined): Promise<AppendResult> {
    const sessionId = live.ref.sessionId;
    const tip = live.tip;
    const head = Number(tip.headSeq);
    if (tip.status === SessionStatus.TERMINATED) throw terminated(sessionId);
    if (options.expectedHeadSeq !== undefined && options.expectedHeadSeq !== head) {
      throw new OmaError("HEAD_SEQ_MISMATCH", `head is ${head}, not ${options.expectedHeadSeq}`, {
        session_id: sessionId, head_seq: head, expected_head_seq: options.expectedHeadSeq,
      });
    }
    const nowMs = this.#now();
    if (options.leaseEpoch !== undefined) this.#checkLease(live, options.leaseEpoch, nowMs);
    const next = clone(SessionSchema, tip);
    const createTime = timestampFromMs(nowMs);
    const events = input.map((e, i) => {
      if (next.status === SessionStatus.TERMINATED) throw terminated(sessionId, { index: i });
      if (e.payload.case === "statusChanged") {
        next.status = e.payload.value.status;
        next.stopReason = e.payload.value.stopReason;
      }
      return create(EventSchema, { seq: BigInt(head + i + 1), id: newId("evt"), createTime, payload: e.payload });
    });
    next.headSeq = BigInt(head + events.length);
    next.updateTime = createTime;
    const ops: WriteOp[] = [{ kind: "putEvents", sessionId: live.id, events }, { kind: "putState", sessionId: live.id, state: next }];
    const key = options.idempotencyKey;
    if (key !== undefined && hash !== undefined) {
      ops.push({ kind: "putIdempotency", sessionId: live.id, key, record: { hash, firstSeq: head + 1, count: events.length } });
    }
    live.tip = next;
    const done = this.#submit(ops, () => {
      live.committed = next;
      for (const listener of live.listeners) listener({ kind: "events", events });
    }).then(() => ({ events, duplicate: false }));
    if (key !== undefined && hash !== undefined) {
      live.pendingKeys.set(key, { hash, firstSeq: head + 1, done });
      const forget = () => void live.pendingKeys.delete(key);
      done.then(forget, forget);
    }
    return done;
  }

  async readEvents(ref: SessionRef, query: ReadQuery): Promise<ReadResult> {
    const live = await this.#require(ref);
    const headSeq = Number(live.committed.headSeq);
    if (query.afterSeq > headSeq) {
      throw new OmaError("SEQ_OUT_OF_RANGE", `after_seq ${query.afterSeq} is beyond the head ${headSeq}`, {
        session_id: ref.sessionId, after_seq: query.afterSeq, head_seq: headSeq, field: "after_seq",
      });
    }
    const upper = query.beforeSeq === 0 ? headSeq + 1 : Math.min(query.beforeSeq, headSeq + 1);
    if (upper <= query.afterSeq + 1) return { events: [], headSeq };
    const events = await this.#storage.readEvents(live.id, query.afterSeq, upper, query.limit, query.order === "desc");
    return { events, headSeq };
  }

  async acquireLease(ref: SessionRef, holder: string, ttlMs: number, options: AcquireLeaseOptions = {}): Promise<Lease> {
    const sessionId = ref.sessionId;
    const { lease, done } = await this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      const live = await this.#require(ref);
      const nowMs = this.#now();
      if (live.tip.status === SessionStatus.TERMINATED) throw terminated(sessionId);
      const current = liveLease(live.tip, nowMs);
      if (current) {
        throw new OmaError("LEASE_HELD", `lease held by ${current.holder}`, {
          session_id: sessionId, holder: current.holder, epoch: current.epoch, expire_time: new Date(timestampMs(current.expireTime!)).toISOString(),
        });
      }
      const epoch = Math.max(live.epochFloor, Number(live.tip.lease?.epoch ?? 0n)) + 1;
      const lease = create(LeaseSchema, { epoch: BigInt(epoch), holder, expireTime: timestampFromMs(nowMs + ttlMs) });
      live.epochFloor = epoch;
      const extra: WriteOp[] = [{ kind: "putEpoch", sessionId: live.id, epoch }];
      if (options.dispatch) {
        live.dispatch = { ref: live.ref, harnessId: holder, epoch, wakeSeq: Number(live.tip.headSeq), wakeTime: nowMs };
        extra.push({ kind: "putDispatch", sessionId: live.id, record: live.dispatch });
      }
      const done = this.#changeState(live, nowMs, (s) => (s.lease = lease), extra);
      return { lease, done };
    });
    await done;
    return lease;
  }

  async renewLease(ref: SessionRef, epoch: number, ttlMs: number): Promise<Lease> {
    const { lease, done } = await this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      const live = await this.#require(ref);
      const nowMs = this.#now();
      if (live.tip.status === SessionStatus.TERMINATED) throw terminated(ref.sessionId);
      const current = this.#checkLease(live, epoch, nowMs);
      const lease = create(LeaseSchema, { epoch: BigInt(epoch), holder: current.holder, expireTime: timestampFromMs(nowMs + ttlMs) });
      return { lease, done: this.#changeState(live, nowMs, (s) => (s.lease = lease)) };
    });
    await done;
    return lease;
  }

  async releaseLease(ref: SessionRef, epoch: number): Promise<void> {
    const done = await this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      const live = await this.#require(ref);
      const last = live.tip.lease;
      if (!last || Number(last.epoch) !== epoch) throw leaseLost(ref.sessionId, epoch, liveLease(live.tip, this.#now()));
      const nowMs = this.#now();
      if (!liveLease(live.tip, nowMs)) return undefined; // already ended: releasing again changes nothing
      const ended = create(LeaseSchema, { epoch: BigInt(epoch), holder: last.holder, expireTime: timestampFromMs(nowMs) });
      return this.#changeState(live, nowMs, (s) => (s.lease = ended));
    });
    await done;
  }

  async listDispatches(query: { readonly pageSize: number; readonly cursor?: string }): Promise<DispatchPage> {
    const dispatches: DispatchRecord[] = [];
    for await (const record of this.#storage.listDispatches(query.cursor)) {
      // One record beyond the page proves there is a next page.
      if (dispatches.length === query.pageSize) return { dispatches, nextCursor: sessionKey(dispatches[dispatches.length - 1]!.ref) };
      dispatches.push(record);
    }
    return { dispatches };
  }

  async endDispatch(ref: SessionRef, harnessId: string): Promise<void> {
    // Durable before the session's lock is let go, so the cache never holds a record that
    // storage has dropped (nor the reverse) when the entry is evicted and reloaded.
    await this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      const live = await this.#load(ref);
      if (live?.dispatch?.harnessId !== harnessId) return;
      live.dispatch = undefined;
      await this.#submit([{ kind: "deleteDispatch", sessionId: live.id }], () => undefined);
    });
  }

  async subscribe(ref: SessionRef, listener: LogListener): Promise<Subscription> {
    for (;;) {
      this.#checkOpen();
      const live = await this.#require(ref);
      // The entry may have been evicted while this call waited; listen on the cached one.
      if (this.#live.get(live.id) !== live) continue;
      live.listeners.add(listener);
      return { headSeq: Number(live.committed.headSeq), unsubscribe: () => void live.listeners.delete(listener) };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.idle();
    for (const live of this.#live.values()) {
      for (const listener of live.listeners) listener({ kind: "closed" });
      live.listeners.clear();
    }
    await this.#storage.close();
  }

  /** The live lease if `epoch` is its epoch, else LEASE_LOST. */
  #checkLease(live: LiveSession, epoch: number, nowMs: number): Lease {
    const current = liveLease(live.tip, nowMs);
    if (!current || Number(current.epoch) !== epoch) throw leaseLost(live.ref.sessionId, epoch, current);
    return current;
  }

  #changeState(live: LiveSession, nowMs: number, change: (s: Session) => void, extra: WriteOp[] = []): Promise<void> {
    const next = clone(SessionSchema, live.tip);
    change(next);
    next.updateTime = timestampFromMs(nowMs);
    live.tip = next;
    return this.#submit([...extra, { kind: "putState", sessionId: live.id, state: next }], () => (live.committed = next));
  }

  #submit(ops: readonly WriteOp[], onDurable: () => void): Promise<void> {
    return this.#committer.submit(ops, onDurable);
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("session store is closed");
  }

  async #require(ref: SessionRef): Promise<LiveSession> {
    const live = await this.#load(ref);
    if (!live) throw notFound(ref.sessionId);
    return live;
  }

  /**
   * Caches a session. Past the bound, the longest-unused idle entries (no watcher, nothing
   * pending, nobody holding the session's lock) are dropped; they reload from storage.
   */
  #remember(live: LiveSession): void {
    this.#live.set(live.id, live);
    if (this.#live.size <= this.#maxCached) return;
    let excess = this.#live.size - Math.floor(this.#maxCached * 0.9);
    for (const [id, s] of this.#live) {
      if (excess <= 0) break;
      if (s === live || s.listeners.size > 0 || s.pendingKeys.size > 0 || s.tip !== s.committed || this.#mutex.isLocked(id)) continue;
      this.#live.delete(id);
      excess--;
    }
  }

  /** Loads once per key (concurrent callers share the read); a delete meanwhile forces a reread. */
  async #load(ref: SessionRef): Promise<LiveSession | undefined> {
    const sessionId = sessionKey(ref);
    const cached = this.#live.get(sessionId);
    if (cached) {
      // Most recently used last, so eviction takes the longest unused first.
      this.#live.delete(sessionId);
      this.#live.set(sessionId, cached);
      return cached;
    }
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = (async () => {
        for (;;) {
          const deletions = this.#deletions;
          const stored = await this.#storage.loadSession(sessionId);
          const epochFloor = stored ? await this.#storage.getEpoch(sessionId) : 0;
          if (deletions !== this.#deletions) continue;
          const already = this.#live.get(sessionId);
          if (already || !stored) return already;
          const live: LiveSession = {
            id: sessionId,
            ref,
            position: listPosition(ref, Number(stored.meta.createTime!.seconds) * 1e6 + Math.floor(stored.meta.createTime!.nanos / 1000)),
            committed: stored.state,
            tip: stored.state,
            epochFloor,
            dispatch: stored.dispatch,
            pendingKeys: new Map(),
            listeners: new Set(),
          };
          this.#remember(live);
          return live;
        }
      })().finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    return loading;
  }
}
