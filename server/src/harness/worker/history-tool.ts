import type { JsonObject } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { EventOrder, type SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { eventKind, eventText } from "../event-text.js";
import { SESSION_HISTORY_TOOL } from "../harness-tools.js";
import { fromInt64, toInt64 } from "../int64.js";
import { historyToolLimits as limits } from "../../limits.js";
import type { PromptTool } from "./prompt.js";
import { retryTransient } from "./transient-retry.js";

/** The session_history tool as the model sees it (HARN-23). */
export const historyToolDefinition: PromptTool = {
  name: SESSION_HISTORY_TOOL,
  description:
    "Reads this session's own log back: every message, tool call, tool result and system event, including what was " +
    "cleared from or summarised out of your context. Events are numbered by seq (#1 is the first). Give from_seq " +
    "(and to_seq) for a range, before_seq for the events just before a seq, or search for text (case-insensitive; " +
    `the newest matches first, then shown oldest first). At most ${limits.maxCount} events and ${limits.maxOutputChars} ` +
    "characters per call; the last line says how to read on.",
  input_schema: {
    type: "object",
    properties: {
      from_seq: { type: "integer", minimum: 1, description: "First seq of a range (inclusive)." },
      to_seq: { type: "integer", minimum: 1, description: "Last seq of a range (inclusive). Needs from_seq." },
      before_seq: { type: "integer", minimum: 1, description: "Read (or search) only events before this seq." },
      search: { type: "string", minLength: 1, maxLength: limits.maxSearchChars, description: "Text to look for." },
      count: { type: "integer", minimum: 1, maximum: limits.maxCount, description: `Most events to return (default ${limits.defaultCount}).` },
      skip_chars: { type: "integer", minimum: 0, description: "Skip this many characters of the first event's text, to read on in a long event. Needs from_seq." },
    },
    additionalProperties: false,
  },
};

/** A parsed, valid call. */
type HistoryQuery =
  | { readonly mode: "range"; readonly from: number; readonly to: number | undefined; readonly count: number; readonly skip: number }
  | { readonly mode: "before"; readonly before: number | undefined; readonly count: number }
  | { readonly mode: "search"; readonly text: string; readonly before: number | undefined; readonly count: number };

/** A call's output for the model. */
export interface HistoryOutcome {
  readonly output: string;
  readonly isError: boolean;
}

const KNOWN = new Set(["from_seq", "to_seq", "before_seq", "search", "count", "skip_chars"]);

/** Validates the model's input; a string is the error to hand back. */
export function parseHistoryInput(input: JsonObject): HistoryQuery | string {
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) return `unknown field ${key}; the fields are ${[...KNOWN].join(", ")}`;
  const int = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined | string => {
    const v = input[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : `${key} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}`;
  };
  const from = int("from_seq", 1);
  const to = int("to_seq", 1);
  const before = int("before_seq", 1);
  const count = int("count", 1, limits.maxCount);
  const skip = int("skip_chars", 0);
  for (const v of [from, to, before, count, skip]) if (typeof v === "string") return v;
  const search = input["search"];
  if (search !== undefined && (typeof search !== "string" || search.length === 0 || [...search].length > limits.maxSearchChars)) {
    return `search must be a text of 1 to ${limits.maxSearchChars} characters`;
  }
  const n = (count as number | undefined) ?? limits.defaultCount;
  if (from !== undefined) {
    if (before !== undefined || search !== undefined) return "from_seq reads a range; it does not go with before_seq or search";
    if (to !== undefined && (to as number) < (from as number)) return "to_seq must not be below from_seq";
    return { mode: "range", from: from as number, to: to as number | undefined, count: n, skip: (skip as number | undefined) ?? 0 };
  }
  if (to !== undefined || skip !== undefined) return "to_seq and skip_chars need from_seq";
  if (search !== undefined) return { mode: "search", text: search, before: before as number | undefined, count: n };
  return { mode: "before", before: before as number | undefined, count: n };
}

/**
 * Runs session_history (HARN-23) over the session's log with GetEvents, like any client:
 * a seq range, the events before a seq, or a text search from the newest event back;
 * without before_seq, "before" means before the tool call itself (`callSeq`), so a search
 * does not find its own request. The output lists each event as `#seq kind text`, within
 * the bounds of `historyToolLimits`, and ends with how to read on when it left something out.
 */
export async function runHistoryTool(client: Client<typeof SessionService>, sessionId: string, input: JsonObject, callSeq: number): Promise<HistoryOutcome> {
  const parsed = parseHistoryInput(input);
  if (typeof parsed === "string") return { output: `session_history: ${parsed}.`, isError: true };
  const query = parsed.mode === "range" ? parsed : { ...parsed, before: parsed.before ?? callSeq };
  const read = (afterSeq: number, beforeSeq: number, limit: number, order: EventOrder) =>
    retryTransient(() => client.getEvents({ sessionId, afterSeq: toInt64(afterSeq), beforeSeq: toInt64(beforeSeq), limit, order }));
  try {
    if (query.mode === "range") {
      const res = await read(query.from - 1, query.to === undefined ? 0 : query.to + 1, query.count, EventOrder.ASCENDING);
      const head = fromInt64(res.headSeq);
      const end = Math.min(query.to ?? head, head);
      const header = `Session log, events #${query.from} to #${end} (the log ends at #${head}):`;
      const last = res.events.at(-1);
      const more = last && fromInt64(last.seq) < end ? `[more events in the range: from_seq ${fromInt64(last.seq) + 1}${query.to !== undefined ? `, to_seq ${query.to}` : ""}]` : "";
      return { output: render(header, res.events, more, query.skip), isError: false };
    }
    if (query.mode === "before") {
      const res = await read(0, query.before, query.count, EventOrder.DESCENDING);
      const events = [...res.events].reverse();
      const first = events[0];
      const header = `Session log, the ${events.length} events before #${query.before} (the log ends at #${fromInt64(res.headSeq)}):`;
      const more = first && fromInt64(first.seq) > 1 ? `[earlier events: before_seq ${fromInt64(first.seq)}]` : "";
      return { output: render(header, events, more, 0), isError: false };
    }
    return await search(read, query);
  } catch (err) {
    if (reasonOf(err) === "SEQ_OUT_OF_RANGE") return { output: "session_history: from_seq is beyond the end of the log.", isError: true };
    throw err;
  }
}

type Reader = (afterSeq: number, beforeSeq: number, limit: number, order: EventOrder) => Promise<{ events: Event[]; headSeq: bigint }>;

async function search(read: Reader, query: { text: string; before: number; count: number }): Promise<HistoryOutcome> {
  const needle = query.text.toLowerCase();
  const found: Event[] = [];
  let before = query.before;
  let scanned = 0;
  let oldestRead = 0;
  let head = 0;
  let stopped: "count" | "scan" | "start" = "start";
  for (;;) {
    const res = await read(0, before, Math.min(1000, limits.maxScanEvents - scanned), EventOrder.DESCENDING);
    head = fromInt64(res.headSeq);
    for (const e of res.events) {
      scanned++;
      oldestRead = fromInt64(e.seq);
      if (`${eventKind(e)} ${eventText(e)}`.toLowerCase().includes(needle)) found.push(e);
      if (found.length >= query.count) break;
    }
    if (found.length >= query.count) stopped = "count";
    else if (res.events.length === 0 || oldestRead <= 1) stopped = "start";
    else if (scanned >= limits.maxScanEvents) stopped = "scan";
    else {
      before = oldestRead;
      continue;
    }
    break;
  }
  const header = `Search for ${JSON.stringify(query.text)} (case-insensitive) before #${query.before} (the log ends at #${head}): ${found.length} matching events, shown oldest first (${scanned} events read):`;
  const more =
    stopped === "start" || oldestRead <= 1
      ? "[searched back to #1]"
      : stopped === "count"
        ? `[more matches may be older: search again with before_seq ${oldestRead}]`
        : `[stopped after reading ${limits.maxScanEvents} events: search again with before_seq ${oldestRead}]`;
  return { output: render(header, found.reverse(), more, 0, true), isError: false };
}

/**
 * The header, each event as `#seq kind text` within the output bound, and the footer. An
 * event that does not fit is cut with a marker saying how to read on; the footer follows
 * it only when asked (a range read on from the marker needs none).
 */
function render(header: string, events: readonly Event[], footer: string, skipFirst: number, footerAfterCut = false): string {
  const budget = limits.maxOutputChars - FOOTER_RESERVE;
  const lines = [header];
  let used = chars(header) + 1;
  for (const [i, e] of events.entries()) {
    const seq = fromInt64(e.seq);
    const prefix = `#${seq} ${eventKind(e)} `;
    const text = [...eventText(e)];
    const skip = i === 0 ? Math.min(skipFirst, text.length) : 0;
    const rest = text.slice(skip);
    const room = budget - used - chars(prefix) - 1;
    if (room < rest.length) {
      const shown = Math.max(0, room - CUT_MARK_RESERVE);
      const from = skip ? `[… the first ${skip} characters skipped] ` : "";
      lines.push(`${prefix}${from}${rest.slice(0, shown).join("")}`);
      lines.push(`[event #${seq} cut at the output bound: ${rest.length - shown} more characters; read on with from_seq ${seq}, skip_chars ${skip + shown}]`);
      if (footer && footerAfterCut) lines.push(footer);
      return lines.join("\n");
    }
    lines.push(`${prefix}${skip ? `[… the first ${skip} characters skipped] ` : ""}${rest.join("")}`);
    used += chars(lines[lines.length - 1]!) + 1;
  }
  if (footer) lines.push(footer);
  return lines.join("\n");
}

/** Characters kept free for the footer and for the marker of a cut event. */
const FOOTER_RESERVE = 300;
const CUT_MARK_RESERVE = 160;

function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
