import type { Client } from "@connectrpc/connect";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { setTimeout as sleep } from "node:timers/promises";
import { fromInt64, toInt64 } from "../int64.js";
import { retryTransient } from "./transient-retry.js";

/** Events per GetEvents page when a brain reads the log. */
const READ_PAGE = 1000;

/** The brain's copy of the log: read once with GetEvents, then topped up after the last seq. */
export class LogReader {
  readonly #client: Client<typeof SessionService>;
  readonly #sessionId: string;
  readonly events: Event[] = [];

  constructor(client: Client<typeof SessionService>, sessionId: string) {
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
 * reconnecting after the last seq it saw until `signal` aborts.
 */
export async function watchForInterrupt(
  client: Client<typeof SessionService>,
  sessionId: string,
  afterSeq: number,
  onInterrupt: () => void,
  signal: AbortSignal,
): Promise<void> {
  let last = afterSeq;
  while (!signal.aborted) {
    try {
      for await (const res of client.watchEvents({ sessionId, afterSeq: toInt64(last) }, { signal })) {
        if (res.message.case !== "event") continue;
        last = fromInt64(res.message.value.seq);
        if (res.message.value.payload.case === "userInterrupt") onInterrupt();
      }
    } catch {
      if (signal.aborted) return;
    }
    await sleep(200, undefined, { signal }).catch(() => undefined);
  }
}
