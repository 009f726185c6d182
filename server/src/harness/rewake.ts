import { create } from "@bufbuild/protobuf";
import { EventSchema, LeaseEndReason } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Context } from "@opentelemetry/api";
import { isOmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { SessionRef } from "../store/session-ref.js";
import type { SessionStore } from "../store/session-store.js";
import { refOf, type HarnessRecord } from "./brain-book.js";
import type { BrainOutcome } from "./brain-outcome.js";
import type { WakeResult } from "./dispatcher.js";
import { fromInt64 } from "./int64.js";

/**
 * Hands the session of a brain that ended to a successor (HARN-5, HARN-27), saying why in
 * the log: a RESCHEDULING status that names the brain whose lease ended and how (HARN-24),
 * then a Wake.
 */
export async function rewake(
  deps: { store: SessionStore; logger: Logger; now: () => number; wake: (ref: SessionRef, trace: Context) => Promise<WakeResult> },
  dead: HarnessRecord,
  session: Session,
  outcome: BrainOutcome,
  trace: Context,
): Promise<void> {
  const now = deps.now();
  const ended = dead.expireTime > now ? "released its lease" : "let its lease expire";
  const who = `brain ${dead.harnessId} (worker ${dead.workerId || "unknown"}, epoch ${dead.epoch})`;
  const detail =
    outcome === "never-started"
      ? `${who} ${ended} before it started; the session was woken and is owed a brain, so a successor takes it`
      : `${who} ${ended} with work left; handing the session to a successor`;
  // Only if nothing was appended since the check, so it never lands inside a brain's work.
  const ref = refOf(dead);
  await deps.store
    .append(ref, [create(EventSchema, { payload: { case: "statusChanged", value: { status: SessionStatus.RESCHEDULING, detail, endedLease: endedLease(dead, deps.now()) } } })], {
      expectedHeadSeq: fromInt64(session.headSeq),
    })
    .catch((err: unknown) => {
      if (!isOmaError(err, "HEAD_SEQ_MISMATCH")) throw err;
    });
  let woke: WakeResult;
  try {
    woke = await deps.wake(ref, trace);
  } catch (err) {
    if (!isOmaError(err, "SESSION_NOT_FOUND") && !isOmaError(err, "SESSION_TERMINATED")) throw err;
    return;
  }
  // A brain someone else started meanwhile has the session: the old record is done.
  if (woke.alreadyRunning) await deps.store.endDispatch(ref, dead.harnessId);
  deps.logger.warn({ tenant: dead.tenant, sessionId: dead.sessionId, harnessId: woke.harnessId, epoch: woke.leaseEpoch, dead: dead.harnessId, outcome }, "woke a session again");
}

/** HARN-24: the RESCHEDULING status names the brain whose lease ended, and how. */
function endedLease(dead: HarnessRecord, now: number) {
  return {
    harnessId: dead.harnessId,
    leaseEpoch: BigInt(dead.epoch),
    workerId: dead.workerId ?? "",
    // Gone before its expiry: the brain released it; otherwise it stopped renewing it.
    reason: dead.expireTime > now ? LeaseEndReason.RELEASED : LeaseEndReason.EXPIRED,
  };
}
