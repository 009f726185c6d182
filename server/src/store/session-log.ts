import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { LeaseSchema, SessionSchema, SessionStatus, type Lease, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { OmaError } from "../errors/oma-error.js";
import { leaseLost, liveLease, nextState, notFound, sessionView, terminated } from "./session-view.js";
import { hashEvents, sameHash } from "./event-hash.js";
import { payloadBytes, storedEvents } from "./event-bytes.js";
import { GroupCommitter, StorageConflict, type WritePart } from "./group-committer.js";
import { adopt, isStale, LiveSessions, newLive, type LiveSession } from "./live-sessions.js";
import { newId } from "./ids.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { sessionKey, type SessionRef } from "./session-ref.js";
import { listPosition, type DispatchHints, type SessionChange, type SessionStorage } from "./session-storage.js";
import type {
  AcquireLeaseOptions, AppendOptions, AppendResult, Clock, CreateSessionInput, DispatchPage, DispatchRecord, ListPage, ListQuery,
  LogListener, ReadQuery, ReadResult, SessionStore, Subscription,
} from "./session-store.js";

/** Sessions kept in memory (heads, leases) before idle ones are evicted; about 1 KB each. */
export const DEFAULT_MAX_CACHED_SESSIONS = 100_000;

/** Tries of one operation that keeps meeting another writer's changes (shared storage only). */
const MAX_ATTEMPTS = 20;

/**
 * Refusals decided on a cached view: on a shared storage another server may have changed
 * what they were decided on, so they are checked once more on a fresh view before they stand.
 */
const RECHECKED = new Set(["LEASE_HELD", "LEASE_LOST", "HEAD_SEQ_MISMATCH", "SESSION_EXISTS"]);

export interface SessionLogOptions {
  readonly now?: Clock;
  /** Bound of the in-memory session cache (DEFAULT_MAX_CACHED_SESSIONS). */
  readonly maxCachedSessions?: number;
}

/**
 * Every rule of the session log over any SessionStorage: per-session seq assignment under
 * a short lock, validation before anything is written, group commit of synced batches,
 * idempotency, fencing by lease epoch, and notification of watchers once durable. Every
 * write is conditional on the revision it was checked against; on a shared storage a
 * write that meets another writer's change is checked again on the fresh state and
 * retried, and watchers hear the storage's change feed, so nothing a rule needs lives
 * only in this process.
 */
export class SessionLog implements SessionStore {
  readonly #storage: SessionStorage;
  readonly #now: Clock;
  readonly #committer: GroupCommitter;
  readonly #mutex = new KeyedMutex();
  readonly #live: LiveSessions;
  #lastMicros = 0;
  #closed = false;

  constructor(storage: SessionStorage, options: SessionLogOptions = {}) {
    this.#storage = storage;
    this.#live = new LiveSessions(storage, options.maxCachedSessions ?? DEFAULT_MAX_CACHED_SESSIONS, (id) => this.#mutex.isLocked(id));
    this.#now = options.now ?? Date.now;
    this.#committer = new GroupCommitter(storage);
  }

  async createSession(input: CreateSessionInput): Promise<Session> {
    const ref: SessionRef = { tenant: input.tenant, sessionId: input.sessionId };
    const id = sessionKey(ref);
    return this.#retrying(ref, () => this.#mutex.run(id, async () => {
      this.#checkOpen();
      const exists = () => new OmaError("SESSION_EXISTS", `session ${ref.sessionId} already exists`, { session_id: ref.sessionId });
      const cached = this.#live.peek(id);
      if (cached && !isStale(cached)) throw exists();
      const head = await this.#storage.loadSession(id);
      if (head.session) throw exists();
      if (cached) this.#live.drop(cached);
      await this.#storage.purge(id, head.revision); // leftovers of a delete cut short by a crash
      const nowMs = this.#now();
      this.#lastMicros = Math.max(nowMs * 1000, this.#lastMicros + 1);
      const createTime = timestampFromMs(0);
      createTime.seconds = BigInt(Math.floor(this.#lastMicros / 1e6));
      createTime.nanos = (this.#lastMicros % 1e6) * 1000;
      const meta = create(SessionSchema, { sessionId: ref.sessionId, tenant: ref.tenant, labels: { ...input.labels }, agent: input.agent, createTime });
      const state = create(SessionSchema, { status: SessionStatus.IDLE, headSeq: 0n, updateTime: createTime });
      const position = listPosition(ref, this.#lastMicros);
      const live = newLive(ref, position, meta, state, head.revision, head.epoch, undefined);
      await this.#submit(live, { ...this.#head(live), meta }, () => {
        // A concurrent reader may have loaded the new session already; keep that one.
        if (!this.#live.peek(id)) this.#live.remember(live);
      });
      return sessionView(meta, state, nowMs);
    }));
  }

  async getSession(ref: SessionRef): Promise<Session> {
    const live = await this.#current(ref);
    return sessionView(live.meta, live.committed, this.#now());
  }

  async listSessions(query: ListQuery): Promise<ListPage> {
    const sessions: Session[] = [];
    let lastPosition: string | undefined;
    const wanted = Object.entries(query.labels);
    for await (const entry of this.#storage.listIndex(query.tenant, query.cursor)) {
      const live = await this.#current(entry.ref).catch((err: unknown) => {
        if (err instanceof OmaError && err.reason === "SESSION_NOT_FOUND") return undefined;
        throw err;
      });
      if (!live) continue;
      if (query.status !== SessionStatus.UNSPECIFIED && live.committed.status !== query.status) continue;
      const meta = live.meta;
      if (!wanted.every(([k, v]) => meta.labels[k] === v)) continue;
      // One match beyond the page proves there is a next page.
      if (sessions.length === query.pageSize) return { sessions, nextCursor: lastPosition };
      sessions.push(sessionView(meta, live.committed, this.#now()));
      lastPosition = entry.position;
    }
    return { sessions };
  }

  async deleteSession(ref: SessionRef): Promise<void> {
    const id = sessionKey(ref);
    await this.#retrying(ref, () => this.#mutex.run(id, async () => {
      this.#checkOpen();
      const live = await this.#requireSynced(ref);
      const revision = await this.#submit(live, { ...this.#head(live), deleted: true }, () => this.#dropDeleted(live));
      await this.#storage.purge(id, revision);
    }));
  }

  async append(ref: SessionRef, events: readonly Event[], options: AppendOptions = {}): Promise<AppendResult> {
    const key = options.idempotencyKey;
    if (options.json && options.json.length !== events.length) throw new Error(`append: ${options.json.length} JSON payloads for ${events.length} events`);
    const hash = key === undefined ? undefined : hashEvents(events, options.json);
    // Encoded here, outside the session's lock, unless the caller's check encoded them.
    const encoded = options.encoded ?? events.map(payloadBytes);
    if (encoded.length !== events.length) throw new Error(`append: ${encoded.length} encoded payloads for ${events.length} events`);
    const sessionId = ref.sessionId;
    const id = sessionKey(ref);
    return this.#retrying(ref, async () => {
      const outcome = await this.#mutex.run(id, async () => {
        this.#checkOpen();
        const live = await this.#requireSynced(ref);
        if (key !== undefined && hash !== undefined) {
          // Pending first: a key leaves the pending map only after it is durable, so a
          // storage miss after this check cannot hide an append in flight (SESS-3).
          const pending = live.pendingKeys.get(key);
          if (pending) return { kind: "pending" as const, hash: pending.hash, firstSeq: pending.firstSeq, done: pending.done };
          const record = await this.#storage.getIdempotency(id, key);
          if (record) return { kind: "stored" as const, hash: record.hash, firstSeq: record.firstSeq, count: record.count };
        }
        return { kind: "new" as const, done: this.#reserveAppend(live, events, encoded, options, hash) };
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
    });
  }

  /** Checks and reserves seqs synchronously (under the session's lock); resolves once durable. */
  #reserveAppend(live: LiveSession, input: readonly Event[], encoded: readonly Uint8Array[], options: AppendOptions, hash: Uint8Array | undefined): Promise<AppendResult> {
    // The view went stale while this call awaited (a key lookup): check again on a fresh one.
    if (isStale(live)) throw new StorageConflict(live.id);
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
    const next = nextState(tip);
    const createTime = timestampFromMs(nowMs);
    const stored = storedEvents(createTime, input.map((e, i) => {
      if (next.status === SessionStatus.TERMINATED) throw terminated(sessionId, { index: i });
      if (e.payload.case === "statusChanged") {
        next.status = e.payload.value.status;
        next.stopReason = e.payload.value.stopReason;
      }
      return { seq: BigInt(head + i + 1), id: newId("evt"), payload: e.payload, encodedPayload: encoded[i]! };
    }));
    const events = stored.map((e) => e.event);
    next.headSeq = BigInt(head + events.length);
    next.updateTime = createTime;
    const key = options.idempotencyKey;
    const keys = key !== undefined && hash !== undefined ? [{ key, record: { hash, firstSeq: head + 1, count: events.length } }] : [];
    live.tip = next;
    const done = this.#submit(live, { ...this.#head(live), events: stored, keys }, () => undefined).then(() => ({ events, duplicate: false }));
    if (key !== undefined && hash !== undefined) {
      live.pendingKeys.set(key, { hash, firstSeq: head + 1, done });
      const forget = () => void live.pendingKeys.delete(key);
      done.then(forget, forget);
    }
    return done;
  }

  async readEvents(ref: SessionRef, query: ReadQuery): Promise<ReadResult> {
    const live = await this.#current(ref);
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
    return this.#retrying(ref, async () => {
      const { lease, done } = await this.#mutex.run(sessionKey(ref), async () => {
        this.#checkOpen();
        const live = await this.#requireSynced(ref);
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
        if (options.dispatch) live.dispatch = { ref: live.ref, harnessId: holder, epoch, wakeSeq: Number(live.tip.headSeq), wakeTime: nowMs };
        const done = this.#changeState(live, nowMs, (s) => (s.lease = lease));
        return { lease, done };
      });
      await done;
      return lease;
    });
  }

  async renewLease(ref: SessionRef, epoch: number, ttlMs: number): Promise<Lease> {
    return this.#retrying(ref, async () => {
      const { lease, done } = await this.#mutex.run(sessionKey(ref), async () => {
        this.#checkOpen();
        const live = await this.#requireSynced(ref);
        const nowMs = this.#now();
        if (live.tip.status === SessionStatus.TERMINATED) throw terminated(ref.sessionId);
        const current = this.#checkLease(live, epoch, nowMs);
        const lease = create(LeaseSchema, { epoch: BigInt(epoch), holder: current.holder, expireTime: timestampFromMs(nowMs + ttlMs) });
        return { lease, done: this.#changeState(live, nowMs, (s) => (s.lease = lease)) };
      });
      await done;
      return lease;
    });
  }

  async releaseLease(ref: SessionRef, epoch: number): Promise<void> {
    await this.#retrying(ref, async () => {
      const done = await this.#mutex.run(sessionKey(ref), async () => {
        this.#checkOpen();
        const live = await this.#requireSynced(ref);
        const last = live.tip.lease;
        if (!last || Number(last.epoch) !== epoch) throw leaseLost(ref.sessionId, epoch, liveLease(live.tip, this.#now()));
        const nowMs = this.#now();
        if (!liveLease(live.tip, nowMs)) return undefined; // already ended: releasing again changes nothing
        const ended = create(LeaseSchema, { epoch: BigInt(epoch), holder: last.holder, expireTime: timestampFromMs(nowMs) });
        return this.#changeState(live, nowMs, (s) => (s.lease = ended));
      });
      await done;
    });
  }

  get dispatchHints(): DispatchHints | undefined {
    return this.#storage.dispatchHints;
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
    await this.#retrying(ref, () => this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      // A record another server wrote may not be in this cache: settle against storage.
      if (this.#storage.shared) this.#markStale(sessionKey(ref));
      const live = await this.#loadSynced(ref);
      if (live?.dispatch?.harnessId !== harnessId) return;
      live.dispatch = undefined;
      await this.#submit(live, this.#head(live), () => undefined);
    }));
  }

  async claimDispatch(ref: SessionRef, harnessId: string, from: string | undefined, to: string | undefined): Promise<boolean> {
    return this.#retrying(ref, () => this.#mutex.run(sessionKey(ref), async () => {
      this.#checkOpen();
      // Another server may have claimed it: decide against storage, never a stale cache.
      if (this.#storage.shared) this.#markStale(sessionKey(ref));
      const live = await this.#loadSynced(ref);
      const record = live?.dispatch;
      if (!live || record?.harnessId !== harnessId) return false;
      if (record.claimedBy === to) return true;
      if (record.claimedBy !== from) return false;
      const { claimedBy: _previous, ...rest } = record;
      live.dispatch = to === undefined ? rest : { ...rest, claimedBy: to };
      await this.#submit(live, this.#head(live), () => undefined);
      return true;
    }));
  }

  async subscribe(ref: SessionRef, listener: LogListener): Promise<Subscription> {
    for (;;) {
      this.#checkOpen();
      const live = await this.#current(ref);
      // The entry may have been evicted while this call waited; listen on the cached one.
      if (this.#live.peek(live.id) !== live) continue;
      live.unwatch ??= this.#storage.watch(live.id, live.revision, (change) => this.#onChange(live, change));
      const headSeq = Number(live.committed.headSeq);
      // Each listener hears only events past the head it was given, once each.
      let heard = headSeq;
      const own: LogListener = (signal) => {
        if (signal.kind !== "events") return listener(signal);
        const events = signal.events.filter((e) => Number(e.seq) > heard);
        if (events.length === 0) return;
        heard = Number(events[events.length - 1]!.seq);
        listener({ kind: "events", events });
      };
      live.listeners.add(own);
      return {
        headSeq,
        unsubscribe: () => {
          live.listeners.delete(own);
          if (live.listeners.size > 0) return;
          live.unwatch?.();
          live.unwatch = undefined;
        },
      };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.idle();
    for (const live of this.#live.values()) {
      live.unwatch?.();
      live.unwatch = undefined;
      for (const listener of live.listeners) listener({ kind: "closed" });
      live.listeners.clear();
    }
    await this.#storage.close();
  }

  /** A committed change from the storage's feed (this process's own writes, and on a shared storage everyone's). */
  #onChange(live: LiveSession, change: SessionChange): void {
    if (change.kind === "deleted") {
      this.#dropDeleted(live);
      return;
    }
    if (change.revision > live.revision) {
      if (change.local) {
        live.committed = change.state;
        live.revision = change.revision;
      } else if (live.pending === 0 && !isStale(live)) {
        adopt(live, change.revision, change.state, change.epoch, change.dispatch, change.meta);
      } else {
        // Our pending writes were built on a state another writer has moved past.
        live.generation++;
      }
    }
    if (change.events.length > 0) for (const listener of live.listeners) listener({ kind: "events", events: change.events });
  }

  #dropDeleted(live: LiveSession): void {
    this.#live.drop(live);
    live.unwatch?.();
    live.unwatch = undefined;
    for (const listener of live.listeners) listener({ kind: "deleted" });
    live.listeners.clear();
  }

  /** Runs a write operation again when it met another writer (shared storage), or once more on a fresh view when refused. */
  async #retrying<T>(ref: SessionRef, attempt: () => Promise<T>): Promise<T> {
    let rechecked = !this.#storage.shared;
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (err instanceof StorageConflict && n < MAX_ATTEMPTS) continue;
        if (!rechecked && err instanceof OmaError && RECHECKED.has(err.reason) && this.#markStale(sessionKey(ref))) {
          rechecked = true;
          continue;
        }
        throw err;
      }
    }
  }

  /** Marks a cached, quiet session for reloading; false when there is none or writes are pending. */
  #markStale(id: string): boolean {
    const live = this.#live.peek(id);
    if (!live || live.pending > 0) return false;
    live.generation++;
    return true;
  }

  /** The live lease if `epoch` is its epoch, else LEASE_LOST. */
  #checkLease(live: LiveSession, epoch: number, nowMs: number): Lease {
    const current = liveLease(live.tip, nowMs);
    if (!current || Number(current.epoch) !== epoch) throw leaseLost(live.ref.sessionId, epoch, current);
    return current;
  }

  #changeState(live: LiveSession, nowMs: number, change: (s: Session) => void): Promise<number> {
    if (isStale(live)) throw new StorageConflict(live.id);
    const next = nextState(live.tip);
    change(next);
    next.updateTime = timestampFromMs(nowMs);
    live.tip = next;
    return this.#submit(live, this.#head(live), () => undefined);
  }

  /** The session's tip as a write part with nothing added. */
  #head(live: LiveSession): WritePart {
    return { position: live.position, state: live.tip, epoch: live.epochFloor, ...(live.dispatch ? { dispatch: live.dispatch } : {}), events: [], keys: [] };
  }

  /** Submits a change built on the tip; once durable the committed state is the part's. */
  #submit(live: LiveSession, part: WritePart, onDurable: (revision: number) => void): Promise<number> {
    // A part is built on the tip as of the generation it is submitted in (group-committer.ts).
    if (isStale(live)) return Promise.reject(new StorageConflict(live.id));
    live.pending++;
    const done = this.#committer.submit(live, part, (revision) => {
      if (revision >= live.revision) live.committed = part.state;
      onDurable(revision);
    });
    const settle = () => void live.pending--;
    done.then(settle, settle);
    return done;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("session store is closed");
  }

  async #require(ref: SessionRef): Promise<LiveSession> {
    const live = await this.#live.load(ref);
    if (!live) throw notFound(ref.sessionId);
    return live;
  }

  /** For writers, under the session's lock: the cached session, reloaded first if it went stale. */
  async #loadSynced(ref: SessionRef): Promise<LiveSession | undefined> {
    const live = await this.#live.load(ref);
    if (!live || !isStale(live)) return live;
    const generation = live.generation;
    const head = await this.#storage.loadSession(live.id);
    if (!head.session) {
      this.#dropDeleted(live);
      return undefined;
    }
    adopt(live, head.revision, head.session.state, head.epoch, head.session.dispatch, head.session.meta);
    live.syncedGeneration = generation;
    return live;
  }

  async #requireSynced(ref: SessionRef): Promise<LiveSession> {
    const live = await this.#loadSynced(ref);
    if (!live) throw notFound(ref.sessionId);
    return live;
  }

  /** For readers: on a shared storage, the session as storage has it now (unless this process has writes pending). */
  async #current(ref: SessionRef): Promise<LiveSession> {
    const live = await this.#require(ref);
    if (!this.#storage.shared || live.pending > 0) return live;
    const head = await this.#storage.loadSession(live.id);
    if (!head.session) {
      if (head.revision > live.revision) this.#dropDeleted(live);
      throw notFound(ref.sessionId);
    }
    if (head.revision > live.revision && live.pending === 0) adopt(live, head.revision, head.session.state, head.epoch, head.session.dispatch, head.session.meta);
    return live;
  }
}
