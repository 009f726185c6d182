import type { OmaSessionsClient } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { fromInt64, toInt64 } from "../int64.js";
import { BRAIN_RETRY, retryTransient } from "./transient-retry.js";

/** Events per GetEvents page when a brain reads the log. */
const READ_PAGE = 1000;

/**
 * The brain's copy of the log: read once with GetEvents, then kept up from what the brain
 * learns anyway — the events its own appends return and those its watch delivers — and
 * read again only when it may be behind: before the first read, when an event it learnt
 * of does not follow its head (someone else appended in between), or when an append
 * guarded by its head was refused (`markBehind`).
 *
 * Others' events enter the copy only at `catchUp`, never in the middle of a step: the head
 * a guarded append gives is then the head the step decided on, plus the brain's own
 * appends, so an event the step did not see makes that append fail instead of being
 * passed over.
 */
export class LogReader {
  readonly #client: OmaSessionsClient;
  readonly #sessionId: string;
  readonly events: Event[] = [];
  /** Events past a gap after the head, held until the gap is filled. */
  readonly #ahead = new Map<number, Event>();
  /** Events the watch delivered, for the next `catchUp`. */
  #heard: Event[] = [];
  #stale = true;

  constructor(client: OmaSessionsClient, sessionId: string) {
    this.#client = client;
    this.#sessionId = sessionId;
  }

  get headSeq(): number {
    const last = this.events[this.events.length - 1];
    return last ? fromInt64(last.seq) : 0;
  }

  /** Whether the log may hold events this copy lacks. */
  get behind(): boolean {
    return this.#stale || this.#ahead.size > 0 || this.#heard.some((e) => fromInt64(e.seq) > this.headSeq);
  }

  /** Keeps an event the watch delivered for the next `catchUp`. */
  heard(event: Event): void {
    this.#heard.push(event);
  }

  /** Brings the copy up to what the brain knows of the log: what the watch delivered, then a read if a gap is left. */
  async catchUp(): Promise<void> {
    const heard = this.#heard;
    this.#heard = [];
    this.add(heard);
    if (this.behind) await this.refresh();
  }

  /** The log is known to have moved past this copy (e.g. HEAD_SEQ_MISMATCH on the head it gave). */
  markBehind(): void {
    this.#stale = true;
  }

  /** Reads every event after the last one held, page by page, up to the head. */
  async refresh(): Promise<void> {
    this.#stale = false;
    try {
      for (;;) {
        const res = await retryTransient(() => this.#client.getEvents({ sessionId: this.#sessionId, afterSeq: toInt64(this.headSeq), limit: READ_PAGE }));
        this.add(res.events);
        if (res.events.length === 0 || this.headSeq >= fromInt64(res.headSeq)) return;
      }
    } catch (err) {
      this.#stale = true;
      throw err;
    }
  }

  /**
   * Takes events known to be in the log (the brain's own appends, a read, or what the watch
   * delivered, at `catchUp`), in any order and more than once: those that follow the head
   * extend the copy; those past a gap wait for it to be filled.
   */
  add(events: readonly Event[]): void {
    for (const e of events) {
      const seq = fromInt64(e.seq);
      if (seq > this.headSeq) this.#ahead.set(seq, e);
    }
    for (let next = this.#ahead.get(this.headSeq + 1); next; next = this.#ahead.get(this.headSeq + 1)) {
      this.#ahead.delete(this.headSeq + 1);
      this.events.push(next);
    }
  }
}

/**
 * Follows the log after `afterSeq` while the brain works, handing every event to `onEvent`
 * (the brain keeps its copy current with them and stops at a user_interrupt, HARN-9), with
 * the SDK's watch (it resumes after the last seq it saw across reconnects) until `signal`
 * aborts. A watch the server ends with an answer (the session deleted, the session token
 * no longer valid) ends this one: the brain's own calls then fail the same way.
 */
export async function followLog(client: OmaSessionsClient, sessionId: string, afterSeq: number, onEvent: (event: Event) => void, signal: AbortSignal): Promise<void> {
  try {
    for await (const event of client.watch(sessionId, { afterSeq, signal, backoff: BRAIN_RETRY.backoff })) onEvent(event);
  } catch {
    // See above: nothing more to watch for.
  }
}
