import { isOmaError } from "../errors/oma-error.js";
import type { SessionRef, SessionStore } from "../store/session-store.js";
import { sessionHasUnfinishedWork } from "./unfinished-work.js";

/** Events read per step when looking for a brain's `harness_started`. */
const PAGE = 100;

/** A dispatched brain as the outcome check needs it. */
export interface EndedBrain {
  readonly ref: SessionRef;
  readonly harnessId: string;
  /** Head of the log when the brain was woken. */
  readonly wakeSeq: number;
}

/**
 * What a dispatched brain whose lease ended leaves behind:
 * - "never-started": no `harness_started` of it after the Wake. The Wake was answered OK,
 *   so the session is owed a brain still (HARN-27): its worker died, or the server did,
 *   before the brain began.
 * - "unfinished": it started, and the log shows work left (HARN-5).
 * - "settled": it started and nothing is left; the dispatch record can go.
 * - "gone": the session was deleted (and perhaps created again) since.
 */
export type BrainOutcome = "never-started" | "unfinished" | "settled" | "gone";

export async function brainOutcome(store: SessionStore, brain: EndedBrain): Promise<BrainOutcome> {
  try {
    if (!(await brainStarted(store, brain))) return "never-started";
    return (await sessionHasUnfinishedWork(store, brain.ref)) ? "unfinished" : "settled";
  } catch (err) {
    if (isOmaError(err, "SESSION_NOT_FOUND") || isOmaError(err, "SEQ_OUT_OF_RANGE")) return "gone";
    throw err;
  }
}

/**
 * Whether the brain appended its `harness_started`. It is the brain's first append, so
 * the search reads forward from the Wake and usually stops on the first page.
 */
async function brainStarted(store: SessionStore, brain: EndedBrain): Promise<boolean> {
  let afterSeq = brain.wakeSeq;
  for (;;) {
    const page = await store.readEvents(brain.ref, { afterSeq, beforeSeq: 0, limit: PAGE, order: "asc" });
    for (const event of page.events) {
      if (event.payload.case === "harnessStarted" && event.payload.value.harnessId === brain.harnessId) return true;
    }
    const last = page.events.at(-1);
    if (!last || page.events.length < PAGE) return false;
    afterSeq = Number(last.seq);
  }
}
