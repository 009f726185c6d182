import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { LocalFeed } from "./local-feed.js";
import {
  changeOf, refOfPosition, tenantRange, type ChangeListener, type IdempotencyRecord, type IndexEntry, type SessionHead, type SessionStorage,
  type SessionWrite, type StoredSession, type WriteOutcome,
} from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";

/** SessionStorage in memory, for unit tests: same contract, nothing survives the process. */
export class MemorySessionStorage implements SessionStorage {
  readonly shared = false;
  readonly #sessions = new Map<string, { meta: Session; state: Session }>();
  readonly #events = new Map<string, Event[]>();
  readonly #keys = new Map<string, Map<string, IdempotencyRecord>>();
  readonly #heads = new Map<string, { revision: number; epoch: number }>();
  readonly #dispatches = new Map<string, DispatchRecord>();
  readonly #feed = new LocalFeed();
  /** Listing positions, ascending. */
  #index: string[] = [];

  async loadSession(sessionId: string): Promise<SessionHead> {
    const head = this.#heads.get(sessionId) ?? { revision: 0, epoch: 0 };
    const stored = this.#sessions.get(sessionId);
    const dispatch = this.#dispatches.get(sessionId);
    const session: StoredSession | undefined = stored && { ...stored, ...(dispatch ? { dispatch } : {}) };
    return { ...head, ...(session ? { session } : {}) };
  }

  async readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    const log = this.#events.get(sessionId) ?? [];
    // Event seq n sits at index n - 1.
    const from = Math.max(0, afterSeq);
    const to = Math.min(log.length, beforeSeq - 1);
    if (to <= from) return [];
    return reverse ? log.slice(Math.max(from, to - limit), to).reverse() : log.slice(from, Math.min(to, from + limit));
  }

  async getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.#keys.get(sessionId)?.get(key);
  }

  async *listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry> {
    const range = tenantRange(tenant);
    for (let i = this.#index.length - 1; i >= 0; i--) {
      const position = this.#index[i]!;
      if (cursor !== undefined && position >= cursor) continue;
      if ((range.lt !== undefined && position >= range.lt) || (range.gt !== undefined && position <= range.gt)) continue;
      yield { position, ref: refOfPosition(position) };
    }
  }

  async *listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord> {
    const ids = [...this.#dispatches.keys()].filter((id) => cursor === undefined || id > cursor).sort();
    for (const id of ids) {
      const record = this.#dispatches.get(id);
      if (record) yield record;
    }
  }

  async write(writes: readonly SessionWrite[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const w of writes) {
      const head = this.#heads.get(w.sessionId) ?? { revision: 0, epoch: 0 };
      if (head.revision !== w.base) {
        outcomes.push({ ok: false, conflict: true });
        continue;
      }
      const revision = head.revision + 1;
      this.#heads.set(w.sessionId, { revision, epoch: w.epoch });
      this.#apply(w);
      outcomes.push({ ok: true, revision });
      this.#feed.emit(w.sessionId, changeOf(w, revision, true));
    }
    return outcomes;
  }

  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void {
    return this.#feed.watch(sessionId, afterRevision, listener);
  }

  async purge(sessionId: string, _revision: number): Promise<void> {
    this.#events.delete(sessionId);
    this.#keys.delete(sessionId);
  }

  async close(): Promise<void> {}

  #apply(w: SessionWrite): void {
    const id = w.sessionId;
    if (w.deleted) {
      this.#sessions.delete(id);
      this.#dispatches.delete(id);
      this.#index = this.#index.filter((p) => p !== w.position);
      return;
    }
    if (w.meta) {
      this.#sessions.set(id, { meta: w.meta, state: w.state });
      this.#index.push(w.position);
      this.#index.sort();
    }
    const s = this.#sessions.get(id);
    if (s) s.state = w.state;
    if (w.dispatch) this.#dispatches.set(id, w.dispatch);
    else this.#dispatches.delete(id);
    if (w.events.length > 0) {
      const log = this.#events.get(id) ?? [];
      for (const { event } of w.events) log[Number(event.seq) - 1] = event;
      this.#events.set(id, log);
    }
    if (w.keys.length > 0) {
      const keys = this.#keys.get(id) ?? new Map<string, IdempotencyRecord>();
      for (const k of w.keys) keys.set(k.key, k.record);
      this.#keys.set(id, keys);
    }
  }
}
