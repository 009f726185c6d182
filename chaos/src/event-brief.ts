import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { oneLine } from "@oma/server/dist/cli/event-line.js";
import { eventKind, eventText } from "@oma/server/dist/harness/event-text.js";

/**
 * One event as a breach report shows it: its seq, kind and what it says on one line (the
 * server's own event text: each brain with its epoch and worker, each status with its
 * detail, each sandbox), so a stranded session's log tells a dead brain from a lost sandbox.
 */
export function briefEvent(e: Event): string {
  const text = oneLine(eventText(e));
  return `#${e.seq} ${eventKind(e)}${text ? `(${text})` : ""}`;
}

/** The log's last `count` events, briefly. */
export function briefTail(log: readonly Event[], count: number): string {
  return log.slice(-count).map(briefEvent).join(", ");
}
