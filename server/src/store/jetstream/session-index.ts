import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { IdempotencyRecord, SessionWrite } from "../session-storage.js";
import { decodeMessage, follows, type SessionMessage } from "./session-message.js";
import { storageUnavailable } from "./cluster-unavailable.js";
import type { StreamReader } from "./stream-reader.js";

/** Sessions whose index this process keeps; past it the longest unused are dropped (and rebuilt by reading). */
const MAX_INDEXED_SESSIONS = 10_000;

/** Where a batch of events sits: its first event seq, how many, and the stream seq of its message. */
interface Batch {
  readonly first: number;
  readonly count: number;
  readonly seq: number;
}

/** What this process knows of a session's subject, read through stream seq `scanned`. */
interface SessionIndex {
  scanned: number;
  /** The last message that is part of the log (see `follows`), decoded. */
  head: SessionMessage | undefined;
  batches: Batch[];
  keys: Map<string, IdempotencyRecord>;
  meta: Session | undefined;
  metaSeq: number;
  /** Reads of the subject, one at a time. */
  catching: Promise<void>;
}

/**
 * The per-session indexes a JetStream storage builds by reading a session's subject: the
 * batches (event seq → stream seq of the message that holds it), the idempotency keys,
 * the fixed part. An index only ever grows by reading messages in order, so it is always
 * the session as of some stream seq; it catches up to the subject's last message before
 * it answers, so an answer covers everything committed when the call was made.
 */
export class SessionIndexes {
  readonly #reader: StreamReader;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #indexes = new Map<string, SessionIndex>();

  constructor(reader: StreamReader, jsm: JetStreamManager, stream: string) {
    this.#reader = reader;
    this.#jsm = jsm;
    this.#stream = stream;
  }

  /** The fixed part of the session whose last message is `last`. */
  async meta(sessionId: string, subject: string, last: SessionMessage): Promise<Session | undefined> {
    if (last.meta) return last.meta;
    const index = this.#index(sessionId);
    if (index.meta && index.metaSeq === last.metaSeq) return index.meta;
    const created = await this.#reader.at(last.metaSeq);
    if (!created || created.subject !== subject) return undefined;
    const m = decodeMessage(created.data, created.seq);
    if (m.meta && index.metaSeq <= created.seq) {
      index.meta = m.meta;
      index.metaSeq = created.seq;
    }
    return m.meta;
  }

  /**
   * Stream seq of the message that created the session, as of stream seq `base` (a write's
   * base): the index is read up to there first, which reads nothing when it is there already
   * (this process's own writes keep it there, see `wrote`).
   */
  async metaSeq(sessionId: string, subject: string, base: number): Promise<number> {
    return (await this.#caughtUp(sessionId, subject, base)).metaSeq;
  }

  /** A write of this process landed at `seq`: an index that had read up to its base takes it in without a read. */
  wrote(sessionId: string, write: SessionWrite, seq: number, metaSeq: number): void {
    const index = this.#indexes.get(sessionId);
    if (!index || index.scanned !== write.base) return;
    apply(index, seq, {
      base: write.base,
      deleted: write.deleted === true, position: write.position, metaSeq: write.meta ? seq : metaSeq, ...(write.meta ? { meta: write.meta } : {}),
      state: write.state, epoch: write.epoch, events: write.events.map((e) => e.event), keys: [...write.keys],
    });
  }

  async key(sessionId: string, subject: string, key: string): Promise<IdempotencyRecord | undefined> {
    const index = await this.#caughtUp(sessionId, subject);
    return index.keys.get(key);
  }

  async readEvents(sessionId: string, subject: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    const index = await this.#caughtUp(sessionId, subject);
    const chosen = choose(index.batches, afterSeq, beforeSeq, limit, reverse);
    if (chosen.length === 0) return [];
    const wanted = new Map<number, Event[] | undefined>(chosen.map((b) => [b.seq, undefined]));
    await this.#reader.range(subject, chosen[0]!.seq, chosen[chosen.length - 1]!.seq, (raw) => {
      if (wanted.has(raw.seq)) wanted.set(raw.seq, decodeMessage(raw.data, raw.seq).events);
    });
    // A scan's consumer may sit on a replica that lacks messages inside the range (one
    // still catching up after a restart), and it then skips them. The index says which
    // messages hold the events: any the scan did not deliver is read from the leader.
    for (const [seq, read] of wanted) {
      if (read) continue;
      const m = await this.#reader.at(seq);
      if (!m || m.subject !== subject) throw storageUnavailable(`a read of session ${sessionId}: message ${seq} of its log is in neither the scan nor the leader's answer`, "INCONSISTENT_ANSWER");
      wanted.set(seq, decodeMessage(m.data, m.seq).events);
    }
    const events = [...wanted.values()].flatMap((read) => read!);
    const inRange = events.filter((e) => Number(e.seq) > afterSeq && Number(e.seq) < beforeSeq);
    return reverse ? inRange.slice(-limit).reverse() : inRange.slice(0, limit);
  }

  /** Removes the subject's messages before `seq` (a deletion's tombstone stays: it keeps the epoch floor). */
  async purge(subject: string, seq: number): Promise<void> {
    if (seq > 1) await this.#jsm.streams.purge(this.#stream, { filter: subject, seq });
  }

  forget(sessionId: string): void {
    this.#indexes.delete(sessionId);
  }

  #index(sessionId: string): SessionIndex {
    let index = this.#indexes.get(sessionId);
    if (index) {
      this.#indexes.delete(sessionId);
      this.#indexes.set(sessionId, index);
      return index;
    }
    index = { scanned: 0, head: undefined, batches: [], keys: new Map(), meta: undefined, metaSeq: 0, catching: Promise.resolve() };
    this.#indexes.set(sessionId, index);
    if (this.#indexes.size > MAX_INDEXED_SESSIONS) this.#indexes.delete(this.#indexes.keys().next().value!);
    return index;
  }

  /**
   * The index read through stream seq `seq` (at least; it may be further): the last
   * message that is part of the log, its keys, and the seq it was read through.
   */
  async through(sessionId: string, subject: string, seq: number): Promise<{ head: SessionMessage | undefined; keys: ReadonlyMap<string, IdempotencyRecord>; scanned: number }> {
    const index = await this.#caughtUp(sessionId, subject, seq);
    return { head: index.head, keys: index.keys, scanned: index.scanned };
  }

  /** The index after reading the subject through its last message, and at least through `atLeast`. */
  async #caughtUp(sessionId: string, subject: string, atLeast = 0): Promise<SessionIndex> {
    const index = this.#index(sessionId);
    const read = index.catching.then(async () => {
      // Asked for a seq it has read already: nothing to read.
      if (atLeast > 0 && index.scanned >= atLeast) return;
      const last = Math.max((await this.#reader.last(subject))?.seq ?? 0, atLeast);
      if (last <= index.scanned) return;
      try {
        await this.#reader.range(subject, index.scanned + 1, last, (raw) => {
          if (raw.seq <= index.scanned) return;
          const m = decodeMessage(raw.data, raw.seq);
          // Built on a message the scan did not deliver: its consumer sits on a replica
          // that lacks messages inside the range (one catching up after a restart). A
          // tombstone may follow messages that were purged.
          if (!m.deleted && m.base > index.scanned) throw new SkippedMessage();
          apply(index, raw.seq, m);
        });
      } catch (err) {
        if (!(err instanceof SkippedMessage)) throw err;
        // The rest is read from the leader, a message at a time.
        for (let next = index.scanned + 1; next <= last; ) {
          const raw = await this.#reader.next(subject, next);
          if (!raw || raw.seq > last) break;
          apply(index, raw.seq, decodeMessage(raw.data, raw.seq));
          next = raw.seq + 1;
        }
      }
    });
    index.catching = read.catch(() => undefined);
    await read;
    return index;
  }
}

/** A scan delivered a message without the one it was built on. */
class SkippedMessage extends Error {}

function apply(index: SessionIndex, seq: number, m: SessionMessage): void {
  const partOfLog = follows(m.base, index.scanned);
  index.scanned = seq;
  // A write that lost a race its guards did not see (README.md): not part of the log.
  if (!partOfLog) return;
  index.head = m;
  if (m.deleted) {
    index.batches = [];
    index.keys = new Map();
    index.meta = undefined;
    index.metaSeq = 0;
    return;
  }
  if (m.meta) {
    index.meta = m.meta;
    index.metaSeq = seq;
  }
  if (m.events.length > 0) index.batches.push({ first: Number(m.events[0]!.seq), count: m.events.length, seq });
  for (const k of m.keys) index.keys.set(k.key, k.record);
}

/** The batches holding the events a read returns: from the low end (or the high end) of the range, enough for `limit`. */
function choose(batches: readonly Batch[], afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Batch[] {
  const end = (b: Batch) => b.first + b.count - 1;
  const chosen: Batch[] = [];
  let count = 0;
  if (!reverse) {
    for (let i = firstIndex(batches, (b) => end(b) > afterSeq); i < batches.length && batches[i]!.first < beforeSeq && count < limit; i++) {
      chosen.push(batches[i]!);
      count += batches[i]!.count;
    }
    return chosen;
  }
  for (let i = firstIndex(batches, (b) => b.first >= beforeSeq) - 1; i >= 0 && end(batches[i]!) > afterSeq && count < limit; i--) {
    chosen.push(batches[i]!);
    count += batches[i]!.count;
  }
  return chosen.reverse();
}

/** Index of the first batch for which `after` holds (it holds for every later one), or the length. */
function firstIndex(batches: readonly Batch[], after: (b: Batch) => boolean): number {
  let lo = 0;
  let hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after(batches[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
