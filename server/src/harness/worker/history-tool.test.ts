import type { Client } from "@connectrpc/connect";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyToolLimits as limits } from "../../limits.js";
import { startTestApp, type TestApp } from "../../testing/test-app.js";
import { historyEntries } from "../testing/history-output.js";
import { eventKind, eventText } from "../event-text.js";
import { fromInt64 } from "../int64.js";
import { parseHistoryInput, runHistoryTool } from "./history-tool.js";

// HARN-23: session_history reads the log back through GetEvents, by positional slices or
// a search, within its bounds; here against the real server.
let app: TestApp;
let session: Client<typeof SessionService>;
beforeAll(async () => {
  app = await startTestApp();
  session = app.client(SessionService);
});
afterAll(async () => app?.stop());

/** A session whose event n (1-based) is a user message "line n", or the text `special` gives for n. */
async function logOf(count: number, special: Record<number, string> = {}): Promise<{ sessionId: string; events: Event[] }> {
  const sessionId = `hist-${randomUUID()}`;
  await session.createSession({ sessionId, agent: { model: "m" } });
  const message = (n: number) => ({ payload: { case: "userMessage" as const, value: { content: [{ block: { case: "text" as const, value: { text: special[n] ?? `line ${n}` } } }] } } });
  for (let n = 1; n <= count; n += 200) {
    const batch = Array.from({ length: Math.min(200, count - n + 1) }, (_, i) => message(n + i));
    // One long event per batch at most, so each batch stays within the batch bound.
    if (batch.some((_, i) => special[n + i] !== undefined)) for (const e of batch) await session.emitEvent({ sessionId, event: e });
    else await session.emitEvents({ sessionId, events: batch });
  }
  const events = (await session.getEvents({ sessionId, limit: 1000 })).events;
  return { sessionId, events };
}

const entries = historyEntries;

const exact = (e: Event) => ({ seq: fromInt64(e.seq), text: eventText(e) });

describe("session_history input", () => {
  it("names what is wrong with a call, so the model can correct it", () => {
    expect(parseHistoryInput({ from_seq: 0 })).toContain("from_seq");
    expect(parseHistoryInput({ from_seq: 5, to_seq: 2 })).toContain("to_seq");
    expect(parseHistoryInput({ from_seq: 5, search: "x" })).toContain("does not go with");
    expect(parseHistoryInput({ count: limits.maxCount + 1 })).toContain("count");
    expect(parseHistoryInput({ search: "x".repeat(limits.maxSearchChars + 1) })).toContain("search");
    expect(parseHistoryInput({ skip_chars: 3 })).toContain("need from_seq");
    expect(parseHistoryInput({ seq: 3 })).toContain("unknown field seq");
    expect(parseHistoryInput({})).toEqual({ mode: "before", before: undefined, count: limits.defaultCount });
  });
});

describe("session_history over GetEvents (HARN-23)", () => {
  it("a seq range returns exactly those events, and says where to read on", async () => {
    const { sessionId, events } = await logOf(30);
    const res = await runHistoryTool(session, sessionId, { from_seq: 5, to_seq: 9 }, 31);
    expect(res.isError).toBe(false);
    expect(entries(res.output)).toEqual(events.slice(4, 9).map(exact));
    const capped = await runHistoryTool(session, sessionId, { from_seq: 5, to_seq: 20, count: 3 }, 31);
    expect(entries(capped.output).map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(capped.output).toContain("from_seq 8, to_seq 20");
    const beyond = await runHistoryTool(session, sessionId, { from_seq: 99 }, 31);
    expect(beyond.isError).toBe(true);
  });

  it("n events before a seq, and by default the newest before the call itself", async () => {
    const { sessionId, events } = await logOf(30);
    const before = await runHistoryTool(session, sessionId, { before_seq: 12, count: 4 }, 31);
    expect(entries(before.output)).toEqual(events.slice(7, 11).map(exact));
    expect(before.output).toContain("before_seq 8");
    const newest = await runHistoryTool(session, sessionId, { count: 2 }, 30);
    expect(entries(newest.output).map((e) => e.seq)).toEqual([28, 29]);
  });

  it("a search finds the newest matches before the call, case-insensitively, shown oldest first", async () => {
    const { sessionId, events } = await logOf(40, { 3: "the MARKER-abc is here", 17: "marker-ABC again", 25: "unrelated", 39: "search MARKER-abc (the call itself)" });
    const res = await runHistoryTool(session, sessionId, { search: "marker-abc" }, 39);
    expect(entries(res.output)).toEqual([events[2]!, events[16]!].map(exact));
    expect(res.output).toContain("searched back to #1");
    const one = await runHistoryTool(session, sessionId, { search: "marker-abc", count: 1 }, 39);
    expect(entries(one.output).map((e) => e.seq)).toEqual([17]);
    expect(one.output).toContain("before_seq 17");
    const older = await runHistoryTool(session, sessionId, { search: "marker-abc", before_seq: 17 }, 39);
    expect(entries(older.output).map((e) => e.seq)).toEqual([3]);
  });

  it("keeps its output within the bound; a long event is read on, exactly, with skip_chars", async () => {
    const huge = `${"0123456789".repeat(9000)}END`;
    const { sessionId, events } = await logOf(4, { 2: huge });
    let text = "";
    let input: Record<string, number> = { from_seq: 2, to_seq: 2 };
    for (let calls = 0; calls < 10; calls++) {
      const res = await runHistoryTool(session, sessionId, input, 5);
      expect([...res.output].length).toBeLessThanOrEqual(limits.maxOutputChars);
      const body = res.output.split("\n")[1]!.replace(/^#2 user_message (\[… the first \d+ characters skipped\] )?/, "");
      text += body;
      const next = /skip_chars (\d+)\]/.exec(res.output);
      if (!next) break;
      expect(Number(next[1])).toBe(text.length);
      input = { from_seq: 2, to_seq: 2, skip_chars: Number(next[1]) };
    }
    expect(text).toBe(eventText(events[1]!));
    expect(eventKind(events[1]!)).toBe("user_message");
  });

  it("a search reads at most its bound of events per call and says where to go on", async () => {
    const count = limits.maxScanEvents + 50;
    const { sessionId } = await logOf(count, { 3: "needle-q" });
    const first = await runHistoryTool(session, sessionId, { search: "NEEDLE-Q" }, count + 1);
    expect(first.output).toContain("0 matching events");
    expect(first.output).toContain(`(${limits.maxScanEvents} events read)`);
    expect(first.output).toContain(`search again with before_seq 51`);
    const second = await runHistoryTool(session, sessionId, { search: "NEEDLE-Q", before_seq: 51 }, count + 1);
    expect(entries(second.output)).toEqual([{ seq: 3, text: "needle-q" }]);
  }, 60_000);
});
