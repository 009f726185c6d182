import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Lease, Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { OmaError } from "../errors/oma-error.js";

/** The lease of a session state if it has not expired (SESS-15). */
export function liveLease(state: Session, nowMs: number): Lease | undefined {
  const lease = state.lease;
  return lease?.expireTime && timestampMs(lease.expireTime) > nowMs ? lease : undefined;
}

export function terminated(sessionId: string, metadata: Record<string, number> = {}): OmaError {
  return new OmaError("SESSION_TERMINATED", `session ${sessionId} is terminated`, { session_id: sessionId, ...metadata });
}

export function leaseLost(sessionId: string, epoch: number, current: Lease | undefined): OmaError {
  return new OmaError("LEASE_LOST", `lease epoch ${epoch} is not the live lease`, { session_id: sessionId, lease_epoch: epoch, current_epoch: current?.epoch ?? 0n });
}

/**
 * A copy of a session state to change into the next tip. Shallow: a state's fields are only
 * ever replaced (the lease, the update time), never changed in place, so what it shares
 * with the state it came from stays as it was. (A reflective clone was ~5 % of an append.)
 */
export function nextState(state: Session): Session {
  return { ...state };
}

/**
 * What clients see: the fixed part, the committed state, and the lease only while live
 * (SESS-15). Shallow, like nextState: it shares the fixed part's labels and agent with the
 * cached session, which are written once and never changed in place (a reflective clone
 * cost every GetSession, and the dispatcher reads each running brain's session every second).
 */
export function sessionView(meta: Session, state: Session, nowMs: number): Session {
  return { ...meta, status: state.status, stopReason: state.stopReason, headSeq: state.headSeq, updateTime: state.updateTime, lease: liveLease(state, nowMs) };
}

export function notFound(sessionId: string): OmaError {
  return new OmaError("SESSION_NOT_FOUND", `session ${sessionId} not found`, { session_id: sessionId });
}
