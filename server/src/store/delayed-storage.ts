import { setTimeout as sleep } from "node:timers/promises";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ChangeListener, IdempotencyRecord, IndexEntry, SessionHead, SessionStorage, SessionWrite, WriteOutcome } from "./session-storage.js";
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

  get shared(): boolean {
    return this.#inner.shared;
  }

  async write(writes: readonly SessionWrite[]): Promise<WriteOutcome[]> {
    await sleep(this.#delayMs);
    const outcomes = await this.#inner.write(writes);
    await sleep(this.#delayMs);
    return outcomes;
  }

  loadSession(sessionId: string): Promise<SessionHead> {
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

  listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry> {
    return this.#inner.listIndex(tenant, cursor);
  }

  listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord> {
    return this.#inner.listDispatches(cursor);
  }

  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void {
    return this.#inner.watch(sessionId, afterRevision, listener);
  }

  purge(sessionId: string, revision: number): Promise<void> {
    return this.#inner.purge(sessionId, revision);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
