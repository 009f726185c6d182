import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
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
/** Single gets tried before a range read starts an ordered consumer instead. */
const GETS_BEFORE_CONSUMER = 4;

/**
 * Reads of one stream: the messages of a subject in a stream-seq range, and the last
 * message of every subject under a filter. Ranges start with direct gets (next message of
 * the subject) and go on through an ordered consumer when they are long.
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
    const m = await this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  /** The first message of a subject at or after `seq`. */
  async next(subject: string, seq: number): Promise<RawMessage | undefined> {
    // The leader's STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); the client's type only lists seq and last_by_subj.
    const m = await this.#jsm.streams.getMessage(this.#stream, { next_by_subj: subject, seq } as unknown as { seq: number });
    return m ? raw(m.subject, m.seq, m.data, m.header) : undefined;
  }

  async at(seq: number): Promise<RawMessage | undefined> {
    const m = await this.#jsm.streams.getMessage(this.#stream, { seq });
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
    const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next });
    try {
      for (;;) {
        const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          if (m.seq > toSeq) return;
          onMessage(raw(m.subject, m.seq, m.data, m.headers));
          if (m.seq === toSeq || m.info.pending === 0) return;
        }
        if (got === 0) return;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /** The last message of every subject under `filter`. */
  async lastPerSubject(filter: string, onMessage: (m: RawMessage) => void): Promise<void> {
    const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    try {
      let remaining = (await consumer.info()).num_pending;
      while (remaining > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(remaining, FETCH_BATCH), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          onMessage(raw(m.subject, m.seq, m.data, m.headers));
          remaining = m.info.pending;
          if (remaining === 0) break;
        }
        if (got === 0) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

function raw(subject: string, seq: number, data: Uint8Array, headers: MsgHdrs | undefined): RawMessage {
  return { subject, seq, data, writer: headers?.get(WRITER_HEADER) || undefined, writeId: headers?.get(WRITE_ID_HEADER) || undefined };
}
