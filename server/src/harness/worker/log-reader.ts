import type { OmaSessionsClient } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { fromInt64, toInt64 } from "../int64.js";
import { BRAIN_RETRY, retryTransient } from "./transient-retry.js";

/** Events per GetEvents page when a brain reads the log. */
const READ_PAGE = 1000;

/** The brain's copy of the log: read once with GetEvents, then topped up after the last seq. */
export class LogReader {
  readonly #client: OmaSessionsClient;
  readonly #sessionId: string;
  readonly events: Event[] = [];

  constructor(client: OmaSessionsClient, sessionId: string) {
    this.#client = client;
    this.#sessionId = sessionId;
  }

  get headSeq(): number {
    const last = this.events[this.events.length - 1];
    return last ? fromInt64(last.seq) : 0;
  }

  /** Reads every event after the last one held, page by page, up to the head. */
  async refresh(): Promise<void> {
    for (;;) {
      const res = await retryTransient(() => this.#client.getEvents({ sessionId: this.#sessionId, afterSeq: toInt64(this.headSeq), limit: READ_PAGE }));
      this.add(res.events);
      if (res.events.length === 0 || this.headSeq >= fromInt64(res.headSeq)) return;
    }
  }

  /** Adds events the brain itself appended (they follow the head it held). */
  add(events: readonly Event[]): void {
    for (const e of events) if (fromInt64(e.seq) === this.headSeq + 1) this.events.push(e);
  }
}

/**
 * Watches the log after `afterSeq` for a user_interrupt (HARN-9) while the brain works,
 * with the SDK's watch (it resumes after the last seq it saw across reconnects) until
 * `signal` aborts. A watch the server ends with an answer (the session deleted, the session
 * token no longer valid) ends this one: the brain's own calls then fail the same way.
 */
export async function watchForInterrupt(client: OmaSessionsClient, sessionId: string, afterSeq: number, onInterrupt: () => void, signal: AbortSignal): Promise<void> {
  try {
    for await (const event of client.watch(sessionId, { afterSeq, signal, backoff: BRAIN_RETRY.backoff })) {
      if (event.payload.case === "userInterrupt") onInterrupt();
    }
  } catch {
    // See above: nothing more to watch for.
  }
}
