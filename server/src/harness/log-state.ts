import type { Event, ToolConfirmation, ToolUse } from "@oma/client/gen/oma/v1/event_pb.js";
import { ConfirmationDecision } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { fromInt64 } from "./int64.js";

/** A tool call the model asked for that has no result in the log yet. */
export interface PendingToolUse {
  readonly seq: number;
  readonly toolUse: ToolUse;
  /** The user's answer, when the call waits for one (HARN-10). */
  readonly confirmation?: ToolConfirmation;
}

/** What a stretch of the log says about the work left on a session. */
export interface LogState {
  /** Seq of the last event read; 0 for an empty log. */
  readonly headSeq: number;
  /** Seq of the last `status_changed` IDLE; 0 when there is none. */
  readonly lastIdleSeq: number;
  /** True when the last status is TERMINATED. */
  readonly terminated: boolean;
  /**
   * A user message, tool result, custom tool result or confirmation after the last idle
   * status and after the last interrupt.
   */
  readonly newInput: boolean;
  /** Seq of the last `user_interrupt`; 0 when there is none. */
  readonly lastInterruptSeq: number;
  /** An interrupt came after the last input and the last idle status: the turn must stop (HARN-9). */
  readonly interrupted: boolean;
  /** Tool calls without a result, in log order. */
  readonly pendingToolUses: readonly PendingToolUse[];
  /** The sandbox serving the session (the last `sandbox_provisioned`), if any. */
  readonly sandboxId: string | undefined;
}

const inputKinds = new Set(["userMessage", "toolResult", "customToolResult", "toolConfirmation"]);

/** Reads a slice of the log, oldest first, into the facts a brain or the server acts on. */
export function analyzeLog(events: readonly Event[]): LogState {
  let headSeq = 0;
  let lastIdleSeq = 0;
  let terminated = false;
  let lastInputSeq = 0;
  let lastInterruptSeq = 0;
  let sandboxId: string | undefined;
  const pending = new Map<string, { seq: number; toolUse: ToolUse; confirmation?: ToolConfirmation }>();
  for (const event of events) {
    const seq = fromInt64(event.seq);
    headSeq = Math.max(headSeq, seq);
    const p = event.payload;
    if (inputKinds.has(p.case ?? "")) lastInputSeq = seq;
    switch (p.case) {
      case "toolUse":
        pending.set(p.value.toolUseId, { seq, toolUse: p.value });
        break;
      case "toolResult":
      case "customToolResult":
        pending.delete(p.value.toolUseId);
        break;
      case "toolConfirmation": {
        const waiting = pending.get(p.value.toolUseId);
        if (waiting) waiting.confirmation = p.value;
        break;
      }
      case "userInterrupt":
        lastInterruptSeq = seq;
        break;
      case "sandboxProvisioned":
        sandboxId = p.value.sandboxId;
        break;
      case "statusChanged":
        terminated = p.value.status === SessionStatus.TERMINATED;
        if (p.value.status === SessionStatus.IDLE) lastIdleSeq = seq;
        break;
      default:
        break;
    }
  }
  return {
    headSeq,
    lastIdleSeq,
    terminated,
    newInput: lastInputSeq > Math.max(lastIdleSeq, lastInterruptSeq),
    interrupted: lastInterruptSeq > Math.max(lastIdleSeq, lastInputSeq),
    lastInterruptSeq,
    pendingToolUses: [...pending.values()],
    sandboxId,
  };
}

/** A pending call the brain can act on without waiting for the client. */
export function isActionable(pending: PendingToolUse): boolean {
  if (pending.toolUse.kind === ToolKind.CUSTOM) return false;
  if (!pending.toolUse.requiresConfirmation) return true;
  return pending.confirmation !== undefined && pending.confirmation.decision !== ConfirmationDecision.UNSPECIFIED;
}

/**
 * HARN-5: the log shows unfinished work — input after the last idle, or a tool call the
 * brain can run that has no result — and no interrupt came after it.
 */
export function hasUnfinishedWork(state: LogState): boolean {
  if (state.terminated) return false;
  if (state.newInput) return true;
  return state.pendingToolUses.some((p) => isActionable(p) && p.seq > state.lastInterruptSeq);
}

/**
 * True for a status event that closes a turn completely: IDLE for any reason other than
 * REQUIRES_ACTION. Nothing before it can be pending, so a reader walking the log
 * backwards can stop there.
 */
export function isTurnBoundary(event: Event): boolean {
  const p = event.payload;
  return p.case === "statusChanged" && p.value.status === SessionStatus.IDLE && p.value.stopReason !== StopReason.REQUIRES_ACTION;
}
