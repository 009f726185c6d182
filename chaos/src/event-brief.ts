import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";

/**
 * One event as a breach report shows it: its seq and kind, and for the events that say
 * which brain did what (harness_started, statuses, sandboxes, tool calls, errors) the ids
 * and the detail an operator needs to tell a dead brain from a lost sandbox.
 */
export function briefEvent(e: Event): string {
  const p = e.payload;
  const what = (() => {
    switch (p.case) {
      case "harnessStarted":
        return `${p.value.harnessId} epoch ${p.value.leaseEpoch} on ${p.value.workerId || "?"}, after #${p.value.resumedAfterSeq}`;
      case "statusChanged": {
        const ended = p.value.endedLease;
        return [SessionStatus[p.value.status], p.value.detail, ended?.harnessId ? `ended ${ended.harnessId} epoch ${ended.leaseEpoch}` : ""].filter(Boolean).join(": ");
      }
      case "sandboxProvisioned":
        return `${p.value.sandboxId} on ${p.value.backend}${p.value.replacesSandboxId ? `, replacing ${p.value.replacesSandboxId}` : ""}`;
      case "toolUse":
        return `${p.value.toolUseId} ${p.value.name}`;
      case "toolResult":
        return `${p.value.toolUseId}${p.value.isError ? " error" : ""}`;
      case "error":
        return `${p.value.code}: ${p.value.message}`;
      default:
        return "";
    }
  })();
  return `#${e.seq} ${p.case}${what ? `(${what})` : ""}`;
}

/** The log's last `count` events, briefly. */
export function briefTail(log: readonly Event[], count: number): string {
  return log.slice(-count).map(briefEvent).join(", ");
}
