import { setTimeout as sleep } from "node:timers/promises";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { IdempotencyRecord, IndexEntry, SessionStorage, StoredSession, WriteOp } from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";

/**
 * A fault-injection hook for conformance testing, off unless asked for (`oma serve
 * --fault-storage-delay-ms N`; never set by `npm start`): every synced write of the session
 * log waits `delayMs` before it starts and again after it is durable. An append is then in
 * flight long enough that a kill -9 right after the first acknowledgement lands before
 * later appends are durable, or between an fsync and its acknowledgement — and, against an
 * implementation that acknowledges before its write is durable, in the window where an
 * acknowledged event is not yet on disk (SESS-5). Reads are not delayed.
 */
export class DelayedStorage implements SessionStorage {
  readonly #inner: SessionStorage;
  readonly #delayMs: number;

  constructor(inner: SessionStorage, delayMs: number) {
    this.#inner = inner;
    this.#delayMs = delayMs;
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    await sleep(this.#delayMs);
    await this.#inner.write(ops);
    await sleep(this.#delayMs);
  }

  loadSession(sessionId: string): Promise<StoredSession | undefined> {
    return this.#inner.loadSession(sessionId);
  }

  loadMeta(sessionId: string): Promise<Session | undefined> {
    return this.#inner.loadMeta(sessionId);
  }

  readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    return this.#inner.readEvents(sessionId, afterSeq, beforeSeq, limit, reverse);
  }

  getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.#inner.getIdempotency(sessionId, key);
  }

  getEpoch(sessionId: string): Promise<number> {
    return this.#inner.getEpoch(sessionId);
  }

  listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry> {
    return this.#inner.listIndex(tenant, cursor);
  }

  listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord> {
    return this.#inner.listDispatches(cursor);
  }

  purge(sessionId: string): Promise<void> {
    return this.#inner.purge(sessionId);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
