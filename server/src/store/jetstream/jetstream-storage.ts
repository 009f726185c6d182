import { randomUUID } from "node:crypto";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { changeOf, refOfPosition, type ChangeListener, type DispatchHints, type IdempotencyRecord, type IndexEntry, type SessionChange, type SessionHead, type SessionStorage, type SessionWrite, type WriteOutcome } from "../session-storage.js";
import { sessionKey } from "../session-ref.js";
import type { DispatchRecord } from "../session-store.js";
import { SessionIndexes } from "./session-index.js";
import { decodeDispatchHint, decodeMessage, encodeDispatchHint, encodeWrite, follows, subjectOf, tenantFilter, type SessionMessage } from "./session-message.js";
import { asStorageAnswer, storageUnavailable } from "./cluster-unavailable.js";
import { StreamReader, WRITE_ID_HEADER, WRITER_HEADER } from "./stream-reader.js";

/** Reads of "which message follows the base" before the answer counts as unknown, and the wait between them. */
const FOLLOWS_TRIES = 20;
const FOLLOWS_RETRY_MS = 100;

/**
 * What a session write's message holds besides its events and keys, at most: the state
 * (head, status, lease), the dispatch record, the position, the JSON around them and the
 * headers.
 */
const MESSAGE_RESERVE_BYTES = 16 * 1024;

/** JetStream's error code for a failed expected-last-subject-sequence check. */
const WRONG_LAST_SEQUENCE = 10071;

export interface JetStreamStorageOptions {
  /** Stream name (default OMA_SESSIONS). */
  readonly stream?: string;
  /** Subject prefix of the sessions (default oma.session). */
  readonly subjectPrefix?: string;
  /** How long a read waits for a cluster that does not answer before STORAGE_UNAVAILABLE (default 15 s). */
  readonly unavailableWaitMs?: number;
}

interface Watcher {
  /** Stream seq of the last change told. */
  last: number;
  readonly listener: ChangeListener;
  stopped: boolean;
  stop?: () => void;
}

/**
 * SessionStorage on a NATS JetStream stream that several OMA servers share. Each session
 * is one subject; each session write is one message on it, published with JetStream's
 * expected-last-subject-sequence = the write's base revision, so a write applies only if
 * nobody wrote the session since (the conditional write), and a session's revision is
 * the stream seq of its last message. The change feed is an ordered consumer on the
 * subject. See README.md for how each rule of the log holds.
 */
export class JetStreamStorage implements SessionStorage {
  readonly shared = true;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #reader: StreamReader;
  readonly #indexes: SessionIndexes;
  readonly #writer = randomUUID();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, options: JetStreamStorageOptions = {}) {
    this.#nc = nc;
    this.#js = js;
    this.#stream = options.stream ?? "OMA_SESSIONS";
    this.#prefix = options.subjectPrefix ?? "oma.session";
    this.#reader = new StreamReader(js, jsm, this.#stream, options.unavailableWaitMs);
    this.#indexes = new SessionIndexes(this.#reader, jsm, this.#stream);
    this.dispatchHints = natsDispatchHints(nc, `oma.dispatch-hint.${this.#stream}`);
  }

  readonly dispatchHints: DispatchHints;

  /**
   * A write is one message, and NATS refuses a message over the servers' `max_payload`
   * (1 MiB by default): events and keys may fill it but for the reserve, base64 (4/3) in
   * the JSON message.
   */
  get maxWriteBytes(): number {
    const maxPayload = this.#nc.info?.max_payload ?? 1024 * 1024;
    return Math.max(0, Math.floor(((maxPayload - MESSAGE_RESERVE_BYTES) * 3) / 4));
  }

  loadSession(sessionId: string): Promise<SessionHead> {
    return answer(this.#loadSession(sessionId), "a read of a session");
  }

  async #loadSession(sessionId: string): Promise<SessionHead> {
    const subject = subjectOf(this.#prefix, sessionId);
    const last = await this.#reader.last(subject);
    if (!last) return { revision: 0, epoch: 0 };
    let m: SessionMessage | undefined = decodeMessage(last.data, last.seq);
    let revision = last.seq;
    // The last message is the head unless it lost a race (rare): then the index finds the head.
    const follows = await this.#follows(subject, m.base, last.seq);
    if (follows === "unknown") throw storageUnavailable(`a read of session ${sessionId}: the stream answered inconsistently, a leader change?`, "INCONSISTENT_ANSWER");
    if (follows === "no") {
      const read = await this.#indexes.through(sessionId, subject, last.seq);
      m = read.head;
      // The next write builds on the subject's last message, even one that is not part of the log.
      revision = read.scanned;
    }
    if (!m || m.deleted || !m.state) return { revision, epoch: m?.epoch ?? 0 };
    const meta = await this.#indexes.meta(sessionId, subject, m);
    if (!meta) return { revision, epoch: m.epoch };
    return { revision, epoch: m.epoch, session: { meta, state: m.state, ...(m.dispatch ? { dispatch: m.dispatch } : {}) } };
  }

  readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    return answer(this.#indexes.readEvents(sessionId, subjectOf(this.#prefix, sessionId), afterSeq, beforeSeq, limit, reverse), "a read of events");
  }

  getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return answer(this.#indexes.key(sessionId, subjectOf(this.#prefix, sessionId), key), "a read of an idempotency key");
  }

  async *listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry> {
    const positions: string[] = [];
    for (const last of await answer(this.#reader.lastPerSubject(tenantFilter(this.#prefix, tenant)), "a listing of sessions")) {
      const m = decodeMessage(last.data, last.seq);
      if (!m.deleted && (cursor === undefined || m.position < cursor)) positions.push(m.position);
    }
    positions.sort().reverse();
    for (const position of positions) yield { position, ref: refOfPosition(position) };
  }

  async *listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord> {
    const records: DispatchRecord[] = [];
    for (const last of await answer(this.#reader.lastPerSubject(tenantFilter(this.#prefix, undefined)), "a listing of dispatch records")) {
      const m = decodeMessage(last.data, last.seq);
      if (!m.deleted && m.dispatch && (cursor === undefined || sessionKey(m.dispatch.ref) > cursor)) records.push(m.dispatch);
    }
    records.sort((a, b) => (sessionKey(a.ref) < sessionKey(b.ref) ? -1 : 1));
    yield* records;
  }

  write(writes: readonly SessionWrite[]): Promise<WriteOutcome[]> {
    return Promise.all(writes.map((w) => this.#publish(w)));
  }

  async #publish(write: SessionWrite): Promise<WriteOutcome> {
    const subject = subjectOf(this.#prefix, write.sessionId);
    try {
      const metaSeq = write.meta || write.deleted ? 0 : await this.#indexes.metaSeq(write.sessionId, subject, write.base);
      // A key must be new as of the base, whatever read the engine checked it on.
      if (write.keys.length > 0) {
        const read = await this.#indexes.through(write.sessionId, subject, write.base);
        if (read.scanned !== write.base || write.keys.some((k) => read.keys.has(k.key))) return { ok: false, conflict: true };
      }
      const writeId = randomUUID();
      const h = headers();
      h.set(WRITER_HEADER, this.#writer);
      h.set(WRITE_ID_HEADER, writeId);
      // Two guards, see README.md: the subject's last seq must be the base, and the message
      // id "<subject>@<base>" is taken once, also among proposals still in flight.
      const ack = await this.#js.publish(subject, encodeWrite(write, metaSeq), {
        expect: { lastSubjectSequence: write.base }, msgID: `${subject}@${write.base}`, headers: h,
      });
      if (ack.duplicate) {
        // Another write after the same base got there first, unless it is this one (a retried publish).
        const after = await this.#reader.next(subject, write.base + 1);
        if (after?.writeId !== writeId) return { ok: false, conflict: true };
        return this.#landed(write, after.seq, metaSeq);
      }
      // Stored; part of the log only if nothing came between its base and it (README.md).
      const follows = await this.#follows(subject, write.base, ack.seq);
      if (follows === "no") return { ok: false, conflict: true };
      if (follows === "unknown") return { ok: false, conflict: false, error: storageUnavailable("a write: the stream answered inconsistently, a leader change?", "INCONSISTENT_ANSWER", { write: true }) };
      return this.#landed(write, ack.seq, metaSeq);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) return { ok: false, conflict: true };
      return { ok: false, conflict: false, error: asStorageAnswer(err, "a write", { write: true }) };
    }
  }

  /**
   * Whether the subject's first message after `base` is the one at `seq` ("yes"), another
   * one before it ("no"), or the read did not see it (a replica behind: "unknown").
   */
  async #follows(subject: string, base: number, seq: number): Promise<"yes" | "no" | "unknown"> {
    // A replica that has not applied `seq` yet answers while leadership moves: ask again a few times.
    for (let attempt = 0; ; attempt++) {
      const next = (await this.#reader.next(subject, base + 1).catch(() => undefined))?.seq;
      if (next === seq) return "yes";
      if (next !== undefined && next < seq) return "no";
      if (attempt === FOLLOWS_TRIES - 1) return "unknown";
      await new Promise((r) => setTimeout(r, FOLLOWS_RETRY_MS));
    }
  }

  /** The write is stored at `seq`: the index takes it in and watchers that are up to its base hear it now. */
  #landed(write: SessionWrite, seq: number, metaSeq: number): WriteOutcome {
    const change = changeOf(write, seq, true);
    this.#indexes.wrote(write.sessionId, write, seq, metaSeq);
    for (const w of this.#watchers.get(write.sessionId) ?? []) {
      // In order only: a watcher behind the base hears this from its consumer.
      if (w.stopped || w.last !== write.base) continue;
      w.last = seq;
      w.listener(change);
    }
    return { ok: true, revision: seq };
  }

  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void {
    const watcher: Watcher = { last: afterRevision, listener, stopped: false };
    let set = this.#watchers.get(sessionId);
    if (!set) this.#watchers.set(sessionId, (set = new Set()));
    set.add(watcher);
    void this.#follow(subjectOf(this.#prefix, sessionId), watcher);
    return () => {
      watcher.stopped = true;
      watcher.stop?.();
      set.delete(watcher);
      if (set.size === 0 && this.#watchers.get(sessionId) === set) this.#watchers.delete(sessionId);
    };
  }

  /** Tells a watcher every message of the subject after its start, through an ordered consumer. */
  async #follow(subject: string, watcher: Watcher): Promise<void> {
    try {
      const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: watcher.last + 1 });
      if (watcher.stopped) return void (await consumer.delete().catch(() => undefined));
      const messages = await consumer.consume();
      watcher.stop = () => void messages.stop();
      if (watcher.stopped) return messages.stop();
      for await (const m of messages) {
        if (watcher.stopped) break;
        if (m.seq <= watcher.last) continue;
        const previous = watcher.last;
        watcher.last = m.seq;
        const message = decodeMessage(m.data, m.seq);
        if (follows(message.base, previous)) watcher.listener(changeOfMessage(m.seq, message, m.headers?.get(WRITER_HEADER) === this.#writer));
      }
    } catch {
      // The connection closed (close()); a watcher is ended by the store then.
    }
  }

  async purge(sessionId: string, revision: number): Promise<void> {
    await answer(this.#indexes.purge(subjectOf(this.#prefix, sessionId), revision), "a purge of a deleted session");
    this.#indexes.forget(sessionId);
  }

  async close(): Promise<void> {
    for (const set of this.#watchers.values()) for (const w of set) (w.stopped = true), w.stop?.();
    this.#watchers.clear();
    await this.#nc.drain().catch(() => undefined);
  }
}

function changeOfMessage(seq: number, m: SessionMessage, local: boolean): SessionChange {
  return m.deleted || !m.state
    ? { kind: "deleted", revision: seq, local, epoch: m.epoch }
    : { kind: "changed", revision: seq, local, state: m.state, epoch: m.epoch, ...(m.dispatch ? { dispatch: m.dispatch } : {}), events: m.events, ...(m.meta ? { meta: m.meta } : {}) };
}

/**
 * Dispatch hints as plain NATS messages on a subject outside the stream: not stored, not
 * replicated, at most once. A hint lost costs a sweep interval (see DispatchHints).
 */
function natsDispatchHints(nc: NatsConnection, subject: string): DispatchHints {
  return {
    announce(record) {
      try {
        nc.publish(subject, encodeDispatchHint(record));
      } catch {
        // closed or draining: the sweep finds the record
      }
    },
    listen(listener) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return;
          const record = decodeDispatchHint(msg.data);
          if (record) listener(record);
        },
      });
      return () => sub.unsubscribe();
    },
  };
}

/** What a call of the storage answers: a cluster that did not answer is STORAGE_UNAVAILABLE (cluster-unavailable.ts), not INTERNAL. */
function answer<T>(op: Promise<T>, what: string): Promise<T> {
  return op.catch((err: unknown) => {
    throw asStorageAnswer(err, what);
  });
}
