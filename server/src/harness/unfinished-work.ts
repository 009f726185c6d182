import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { SessionRef, SessionStore } from "../store/session-store.js";
import { analyzeLog, hasUnfinishedWork, isTurnBoundary } from "./log-state.js";

/** Events read per step when walking a log backwards. */
const TAIL_PAGE = 200;

/**
 * HARN-5: whether a session's log shows work no brain has finished. Reads backwards from
 * the head only as far as the last completed turn, so the cost follows the open turn,
 * not the length of the log.
 */
export async function sessionHasUnfinishedWork(store: SessionStore, ref: SessionRef): Promise<boolean> {
  const tail: Event[] = [];
  let beforeSeq = 0;
  for (;;) {
    const page = await store.readEvents(ref, { afterSeq: 0, beforeSeq, limit: TAIL_PAGE, order: "desc" });
    let boundary = false;
    for (const event of page.events) {
      if (isTurnBoundary(event)) {
        boundary = true;
        tail.push(event);
        break;
      }
      tail.push(event);
    }
    const last = page.events[page.events.length - 1];
    if (boundary || !last || page.events.length < TAIL_PAGE) break;
    beforeSeq = Number(last.seq);
    if (beforeSeq <= 1) break;
  }
  return hasUnfinishedWork(analyzeLog(tail.reverse()));
}
