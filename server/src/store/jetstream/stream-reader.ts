import { randomUUID } from "node:crypto";
import { AckPolicy, DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";

/** A stored message as the readers hand it over. */
export interface RawMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly writer: string | undefined;
  /** The id of the session write the message carries. */
  readonly writeId: string | undefined;
}

/** Header naming the storage instance that wrote a message, so its feed knows its own. */
export const WRITER_HEADER = "Oma-Writer";
/** Header with a unique id of the session write, so a writer can recognize its own message. */
export const WRITE_ID_HEADER = "Oma-Write";

/** Messages fetched per pull of an ordered consumer. */
const FETCH_BATCH = 256;
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

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string) {
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
  }

  /** The last message of a subject, if it has any. */
  async last(subject: string): Promise<RawMessage | undefined> {
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject }));
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  /** The first message of a subject at or after `seq`. */
  async next(subject: string, seq: number): Promise<RawMessage | undefined> {
    // The leader's STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); the client's type only lists seq and last_by_subj.
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { next_by_subj: subject, seq } as unknown as { seq: number }));
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  async at(seq: number): Promise<RawMessage | undefined> {
    const m = await whileUnavailable(() => this.#jsm.streams.getMessage(this.#stream, { seq }));
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  /** Every message of `subject` with fromSeq <= seq <= toSeq, in order. */
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
      let remaining = pending;
      while (remaining > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(remaining, FETCH_BATCH), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          remaining = m.info.pending;
          if (m.seq > toSeq) return;
          onMessage(raw(m.subject, m.seq, m.data, m.headers));
          if (m.seq === toSeq) return;
        }
        if (got === 0) throw new Error(`reading the stream stopped with ${remaining} messages unread`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /** The last message of every subject under `filter`. */
  async lastPerSubject(filter: string, onMessage: (m: RawMessage) => void): Promise<void> {
    const { consumer, pending } = await this.#scanner({ filter_subject: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    try {
      let remaining = pending;
      while (remaining > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(remaining, FETCH_BATCH), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          onMessage(raw(m.subject, m.seq, m.data, m.headers));
          remaining = m.info.pending;
          if (remaining === 0) break;
        }
        if (got === 0) throw new Error(`reading the stream stopped with ${remaining} messages unread`);
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
    }));
    return { consumer: await this.#js.consumers.get(this.#stream, name), pending: info.num_pending };
  }
}

/** How long a read waits for a cluster that lost a node to answer again. */
const UNAVAILABLE_WAIT_MS = 15_000;

/**
 * Runs a read again while the cluster does not answer (a request timeout, no responders,
 * JetStream "temporarily unavailable" while a leader is elected), up to UNAVAILABLE_WAIT_MS.
 * Only for reads and for creating a scan's consumer: both can be repeated safely.
 */
export async function whileUnavailable<T>(op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + UNAVAILABLE_WAIT_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      const transient = err instanceof Error && (err.name === "TimeoutError" || err.name === "NoResponders" || err.name === "NoRespondersError" || (err instanceof JetStreamApiError && err.code === 10008));
      if (!transient || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function raw(subject: string, seq: number, data: Uint8Array, headers: MsgHdrs | undefined): RawMessage {
  return { subject, seq, data, writer: headers?.get(WRITER_HEADER) || undefined, writeId: headers?.get(WRITE_ID_HEADER) || undefined };
}
