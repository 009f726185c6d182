import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { createColors } from "picocolors";
import { eventKind, eventText } from "../harness/event-text.js";

/** Longest summary printed for one event; the rest is cut with "…". */
export const MAX_SUMMARY_CHARS = 160;

export interface EventLineOptions {
  /** ANSI colours; only when writing to a terminal. */
  readonly color: boolean;
}

/**
 * One event as one line for people: `seq  time  kind  summary`. Newlines inside the
 * event become "⏎" so that `oma events` output stays one event per line.
 */
export function formatEventLine(event: Event, options: EventLineOptions): string {
  const c = createColors(options.color);
  const time = event.createTime ? timestampDate(event.createTime).toISOString().slice(11, 23) : "--:--:--.---";
  const kind = eventKind(event);
  const paint = kind.startsWith("user") ? c.cyan : kind === "error" ? c.red : kind === "status_changed" ? c.yellow : kind.startsWith("agent") ? c.green : c.magenta;
  return `${c.dim(`#${event.seq}`.padStart(7))}  ${c.dim(time)}  ${paint(kind.padEnd(19))} ${oneLine(eventText(event))}`;
}

/** An event's text on one line, cut at MAX_SUMMARY_CHARS. */
export function oneLine(text: string): string {
  const flat = text.replace(/\r?\n/g, "⏎");
  return flat.length > MAX_SUMMARY_CHARS ? `${flat.slice(0, MAX_SUMMARY_CHARS - 1)}…` : flat;
}
