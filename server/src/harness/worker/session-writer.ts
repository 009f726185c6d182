import type { MessageInitShape } from "@bufbuild/protobuf";
import { reasonOf, type Appender, type OmaSessionsClient } from "@oma/client";
import type { EventSchema, Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { FencedError } from "./brain-errors.js";
import { BRAIN_RETRY } from "./transient-retry.js";

export type PayloadInit = MessageInitShape<typeof EventSchema>["payload"];


/**
 * Every append of one brain: carries its lease epoch (HARN-2) and an idempotency key, so
 * a retried append is never written twice (SESS-3) and a fenced brain cannot write
 * (LEASE_LOST → FencedError). The appends go over one appender (one AppendEvents stream
 * where the transport has them, SESS-22), opened at the first append: a turn's appends cost
 * one call instead of one each. Where the server does not serve the stream, the appender
 * sends EmitEvents calls. `close` ends it when the brain ends.
 */
export class SessionWriter {
  readonly #client: OmaSessionsClient;
  readonly sessionId: string;
  readonly epoch: number;
  readonly #onAppended: (events: readonly Event[]) => void;
  #barrier: Promise<unknown> = Promise.resolve();
  #appender: Appender | undefined;

  /** `onAppended` hears of every event appended, as the server stored it. */
  constructor(client: OmaSessionsClient, sessionId: string, epoch: number, onAppended: (events: readonly Event[]) => void = () => undefined) {
    this.#client = client;
    this.sessionId = sessionId;
    this.epoch = epoch;
    this.#onAppended = onAppended;
  }

  /**
   * Every later append waits for this one first (and fails if it failed), so work may
   * start before an append is acknowledged without reordering the log.
   */
  setBarrier(append: Promise<unknown>): void {
    // Its failure reaches the appends that wait on it; a brain that ends before another
    // append must not leave it unhandled (an unhandled rejection ends the worker process).
    append.catch(() => undefined);
    this.#barrier = append;
  }

  /** Settles when an append made now would be sent: after the barrier (rejects if it failed). */
  async ready(): Promise<void> {
    await this.#barrier;
  }

  /** Appends the payloads atomically. With `expectedHeadSeq`, HEAD_SEQ_MISMATCH is returned as `undefined`. */
  async emit(payloads: readonly PayloadInit[], idempotencyKey: string, options: { expectedHeadSeq?: number } = {}): Promise<Event[] | undefined> {
    await this.#barrier;
    try {
      this.#appender ??= this.#client.openAppender();
      // The idempotency key makes a resend after a broken stream or connection safe (SESS-3).
      const res = await this.#appender.append(this.sessionId, payloads as NonNullable<PayloadInit>[], {
        ...BRAIN_RETRY,
        idempotencyKey,
        leaseEpoch: this.epoch,
        ...(options.expectedHeadSeq !== undefined ? { expectedHeadSeq: options.expectedHeadSeq } : {}),
      });
      this.#onAppended(res.events);
      return res.events;
    } catch (err) {
      const reason = reasonOf(err);
      if (reason === "LEASE_LOST") throw new FencedError(`lease epoch ${this.epoch} of session ${this.sessionId} was lost`, { cause: err });
      if (reason === "HEAD_SEQ_MISMATCH" && options.expectedHeadSeq !== undefined) return undefined;
      throw err;
    }
  }

  /** Ends the appender's stream once every append made is answered; a later emit opens a new one. */
  async close(): Promise<void> {
    const appender = this.#appender;
    this.#appender = undefined;
    await appender?.close();
  }
}
