import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { refOfPosition, tenantRange, type IdempotencyRecord, type IndexEntry, type SessionStorage, type StoredSession, type WriteOp } from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";

/** SessionStorage in memory, for unit tests: same contract, nothing survives the process. */
export class MemorySessionStorage implements SessionStorage {
  readonly #sessions = new Map<string, { meta: Session; state: Session }>();
  readonly #events = new Map<string, Event[]>();
  readonly #keys = new Map<string, Map<string, IdempotencyRecord>>();
  readonly #epochs = new Map<string, number>();
  readonly #dispatches = new Map<string, DispatchRecord>();
  /** Listing positions, ascending. */
  #index: string[] = [];

  async loadSession(sessionId: string): Promise<StoredSession | undefined> {
    const stored = this.#sessions.get(sessionId);
    const dispatch = this.#dispatches.get(sessionId);
    return stored && { ...stored, ...(dispatch ? { dispatch } : {}) };
  }

  async loadMeta(sessionId: string): Promise<Session | undefined> {
    return this.#sessions.get(sessionId)?.meta;
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

  async getEpoch(sessionId: string): Promise<number> {
    return this.#epochs.get(sessionId) ?? 0;
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

  async write(ops: readonly WriteOp[]): Promise<void> {
    for (const op of ops) {
      switch (op.kind) {
        case "createSession":
          this.#sessions.set(op.sessionId, { meta: op.meta, state: op.state });
          this.#index.push(op.position);
          this.#index.sort();
          break;
        case "putState": {
          const s = this.#sessions.get(op.sessionId);
          if (s) s.state = op.state;
          break;
        }
        case "putEvents": {
          const log = this.#events.get(op.sessionId) ?? [];
          for (const e of op.events) log[Number(e.seq) - 1] = e;
          this.#events.set(op.sessionId, log);
          break;
        }
        case "putIdempotency": {
          const keys = this.#keys.get(op.sessionId) ?? new Map<string, IdempotencyRecord>();
          keys.set(op.key, op.record);
          this.#keys.set(op.sessionId, keys);
          break;
        }
        case "putEpoch":
          this.#epochs.set(op.sessionId, op.epoch);
          break;
        case "putDispatch":
          this.#dispatches.set(op.sessionId, op.record);
          break;
        case "deleteDispatch":
          this.#dispatches.delete(op.sessionId);
          break;
        case "deleteSession":
          this.#sessions.delete(op.sessionId);
          this.#dispatches.delete(op.sessionId);
          this.#index = this.#index.filter((p) => p !== op.position);
          break;
      }
    }
  }

  async purge(sessionId: string): Promise<void> {
    this.#events.delete(sessionId);
    this.#keys.delete(sessionId);
  }

  async close(): Promise<void> {}
}
