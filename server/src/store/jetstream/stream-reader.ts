import { randomUUID } from "node:crypto";
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { storageUnavailable, UNAVAILABLE_WAIT_MS, whileUnavailable } from "./cluster-unavailable.js";

/** A stored message as the readers hand it over. */
export interface RawMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly writer: string | undefined;
  /** The id of the session write the message carries. */
  readonly writeId: string | undefined;
  readonly headers: MsgHdrs | undefined;
}

/** Header naming the storage instance that wrote a message, so its feed knows its own. */
export const WRITER_HEADER = "Oma-Writer";
/** Header with a unique id of the session write, so a writer can recognize its own message. */
export const WRITE_ID_HEADER = "Oma-Write";

/** Messages asked for per pull of a scan's consumer. */
const FETCH_BATCH = 256;
/** How long one pull waits for messages. */
const FETCH_WAIT_MS = 1000;
/** A scan's consumer is removed by the server this long after its reader went away (ns). */
const SCANNER_IDLE_NS = 30_000 * 1_000_000;
/** Single gets tried before a range read starts a consumer instead. */
const GETS_BEFORE_CONSUMER = 4;

/**
 * Reads of one stream: the messages of a subject in a stream-seq range, and the last
 * message of every subject under a filter. Ranges start with leader gets (next message of
 * the subject) and go on through a consumer of their own when they are long.
 */
export class StreamReader {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #waitMs: number;

  /** `waitMs`: how long a read waits for a cluster that does not answer (then STORAGE_UNAVAILABLE). */
  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string, waitMs = UNAVAILABLE_WAIT_MS) {
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#waitMs = waitMs;
  }

  /** The last message of a subject, if it has any. */
  async last(subject: string): Promise<RawMessage | undefined> {
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject }), this.#waitMs);
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  /** The first message of a subject at or after `seq`. */
  async next(subject: string, seq: number): Promise<RawMessage | undefined> {
    // The leader's STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); the client's type only lists seq and last_by_subj.
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { next_by_subj: subject, seq } as unknown as { seq: number }), this.#waitMs);
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  async at(seq: number): Promise<RawMessage | undefined> {
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { seq }), this.#waitMs);
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  /**
   * Every message of `subject` with fromSeq <= seq <= toSeq, in order. A scan's consumer
   * may sit on a replica that is behind the leader (see `lastPerSubject`): when it has
   * nothing more, the leader says whether the range holds more, and the scan waits for the
   * replica to deliver it.
   */
  async range(subject: string, fromSeq: number, toSeq: number, onMessage: (m: RawMessage) => void): Promise<void> {
    let next = fromSeq;
    for (let i = 0; i < GETS_BEFORE_CONSUMER && next <= toSeq; i++) {
      const m = await this.next(subject, next);
      if (!m || m.seq > toSeq) return;
      onMessage(m);
      next = m.seq + 1;
    }
    if (next > toSeq) return;
    const { consumer, pending } = await this.#scanner({ filter_subject: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next });
    try {
      const stall = new StallGuard(subject, this.#waitMs);
      let dry = pending === 0;
      for (;;) {
        if (dry) {
          const more = await this.next(subject, next);
          if (!more || more.seq > toSeq) return;
        }
        const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_WAIT_MS });
        let got = 0;
        dry = true;
        for await (const m of batch) {
          got++;
          if (m.seq > toSeq) return;
          onMessage(raw(m.subject, m.seq, m.data, m.headers));
          next = m.seq + 1;
          if (m.seq === toSeq) return;
          dry = m.info.pending === 0;
          if (dry) break;
        }
        stall.check(got);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /**
   * The last message of every subject under `filter`, as of the stream leader's state
   * when the call was made (or later), in stream order.
   *
   * A last-per-subject consumer delivers the last message of each subject its replica
   * holds, in stream order, then every message written after. Its own count of pending
   * messages is the wrong place to stop: later writes raise it as they come (a scan that
   * waits for zero need not end while sessions are written), a message removed before it
   * is delivered is skipped, and nats-server places an R1 consumer on any replica of the
   * stream, which may be behind the leader. So the leader is asked first which subjects
   * there are and which message is the last under the filter, and the scan goes on until
   * it has delivered every one of those subjects and that message or a later one: by then
   * each subject's message is as new as the leader's was. A subject delivered twice
   * (written during the scan) keeps its later message.
   */
  async lastPerSubject(filter: string): Promise<RawMessage[]> {
    const [info, newest] = await Promise.all([
      whileUnavailable(() => this.#jsm.streams.info(this.#stream, { subjects_filter: filter }), this.#waitMs),
      this.last(filter),
    ]);
    const unseen = new Set(Object.keys(info.state.subjects ?? {}));
    if (!newest || unseen.size === 0) return [];
    const { consumer } = await this.#scanner({ filter_subject: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    const bySubject = new Map<string, RawMessage>();
    try {
      const stall = new StallGuard(filter, this.#waitMs);
      let reachedNewest = false;
      for (;;) {
        const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_WAIT_MS });
        let got = 0;
        for await (const m of batch) {
          got++;
          unseen.delete(m.subject);
          bySubject.delete(m.subject);
          bySubject.set(m.subject, raw(m.subject, m.seq, m.data, m.headers));
          reachedNewest ||= m.seq >= newest.seq;
          if (reachedNewest && unseen.size === 0) return [...bySubject.values()];
        }
        stall.check(got);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /**
   * A plain pull consumer of its own for one scan (no acknowledgements, in memory, one
   * replica), and how many messages it has to deliver. Not an ordered consumer: one of
   * those starts again from the last stream seq it delivered when it resets, which is not
   * a last-per-subject read any more.
   */
  async #scanner(config: { filter_subject: string; deliver_policy: DeliverPolicy; opt_start_seq?: number }) {
    const name = `oma_scan_${randomUUID().replaceAll("-", "")}`;
    const info = await whileUnavailable(() => this.#jsm.consumers.add(this.#stream, {
      name, ...config, ack_policy: AckPolicy.None, mem_storage: true, num_replicas: 1, inactive_threshold: SCANNER_IDLE_NS,
    }), this.#waitMs);
    return { consumer: await this.#js.consumers.get(this.#stream, name), pending: info.num_pending };
  }
}

/** Ends a scan whose consumer delivered nothing for `waitMs` (its replica down or far behind): STORAGE_UNAVAILABLE. */
class StallGuard {
  readonly #what: string;
  readonly #waitMs: number;
  #since = Date.now();

  constructor(what: string, waitMs: number) {
    this.#what = what;
    this.#waitMs = waitMs;
  }

  check(delivered: number): void {
    if (delivered > 0) this.#since = Date.now();
    else if (Date.now() - this.#since > this.#waitMs) throw storageUnavailable(`a scan of ${this.#what}, its replica delivered nothing for ${this.#waitMs} ms`, "STALLED_REPLICA");
  }
}

function raw(subject: string, seq: number, data: Uint8Array, headers: MsgHdrs | undefined): RawMessage {
  return { subject, seq, data, writer: headers?.get(WRITER_HEADER) || undefined, writeId: headers?.get(WRITE_ID_HEADER) || undefined, headers };
}
