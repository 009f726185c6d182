import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WatchEventsResponseSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { OmaError } from "../errors/oma-error.js";
import type { SessionRef, SessionStore } from "../store/session-store.js";

type WatchMessage = MessageInitShape<typeof WatchEventsResponseSchema>;

export interface WatchOptions {
  readonly ref: SessionRef;
  readonly afterSeq: number;
  /** Live events a watcher may have waiting before it is WATCHER_TOO_SLOW (SESS-13). */
  readonly maxLagEvents: number;
  /** A heartbeat is sent after this long without any message (SESS-13). */
  readonly heartbeatMs: number;
  /** Replay reads this many events at a time. */
  readonly replayPageSize?: number;
  readonly signal: AbortSignal;
}

/**
 * One watch (SESS-12, SESS-13). It subscribes first and replays from the store second, so
 * an event committed during the replay is either read by the replay or waiting in the
 * live queue; whichever copy comes second is dropped by seq. When the newest committed seq
 * is more than `maxLagEvents` ahead of the last one sent, the queue is dropped and the
 * stream ends with WATCHER_TOO_SLOW, so a stuck client never holds memory or delays anyone.
 */
export async function* watchEvents(store: SessionStore, options: WatchOptions): AsyncGenerator<WatchMessage> {
  const { ref, signal } = options;
  const sessionId = ref.sessionId;
  const pageSize = options.replayPageSize ?? 512;
  let queue: Event[] = [];
  let next = 0;
  let lastSent = options.afterSeq;
  let end: "deleted" | "closed" | "too_slow" | undefined;
  let wake: (() => void) | undefined;

  const subscription = await store.subscribe(ref, (s) => {
    if (end) return;
    if (s.kind === "events") {
      queue.push(...s.events);
      // Lag is measured in seqs, so copies the replay has already sent do not count.
      if (Number(s.events.at(-1)!.seq) - lastSent > options.maxLagEvents) {
        end = "too_slow";
        queue = [];
        next = 0;
        subscription.unsubscribe();
      }
    } else {
      end = s.kind;
    }
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  const stopIfEnded = () => {
    if (end === "too_slow") {
      throw new OmaError("WATCHER_TOO_SLOW", `watcher fell more than ${options.maxLagEvents} events behind`, {
        session_id: sessionId, last_sent_seq: lastSent, buffer_limit: options.maxLagEvents,
      });
    }
    if (end === "deleted") throw new OmaError("SESSION_NOT_FOUND", `session ${sessionId} was deleted`, { session_id: sessionId });
    return end === "closed" || signal.aborted;
  };
  try {
    if (options.afterSeq > subscription.headSeq) {
      throw new OmaError("SEQ_OUT_OF_RANGE", `after_seq ${options.afterSeq} is beyond the head ${subscription.headSeq}`, {
        session_id: sessionId, after_seq: options.afterSeq, head_seq: subscription.headSeq, field: "after_seq",
      });
    }
    // Replay: everything committed before (and maybe during) the subscription.
    for (;;) {
      if (stopIfEnded()) return;
      const page = await store.readEvents(ref, { afterSeq: lastSent, beforeSeq: 0, limit: pageSize, order: "asc" });
      for (const event of page.events) {
        yield { message: { case: "event", value: event } };
        lastSent = Number(event.seq);
        if (stopIfEnded()) return;
      }
      if (page.events.length < pageSize) break;
      // Drop live copies the replay has already sent, so a long replay holds no more than the lag.
      queue = queue.slice(next).filter((e) => Number(e.seq) > lastSent);
      next = 0;
    }
    let caughtUp = false;
    for (;;) {
      if (stopIfEnded()) return;
      while (next < queue.length) {
        const event = queue[next++]!;
        if (Number(event.seq) <= lastSent) continue;
        yield { message: { case: "event", value: event } };
        lastSent = Number(event.seq);
        if (stopIfEnded()) return;
      }
      queue = [];
      next = 0;
      // Every committed event is sent: lastSent is the head.
      if (!caughtUp) {
        caughtUp = true;
        yield { message: { case: "caughtUp", value: { headSeq: BigInt(lastSent) } } };
        continue;
      }
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), options.heartbeatMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (!woke) yield { message: { case: "heartbeat", value: { headSeq: BigInt(lastSent) } } };
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    subscription.unsubscribe();
  }
}
