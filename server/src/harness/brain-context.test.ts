import { bySteps, lastToolResults, promptTokens, stepOf, type RecordedRequest, type Responder, type ScriptedResponse } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { eventText } from "./event-text.js";
import { fromInt64 } from "./int64.js";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";
import { historyEntries } from "./testing/history-output.js";

// HARN-21..23: sessions of several hundred tool calls against a model with a small context
// window, through real worker processes and real sandbox calls. Isolation plays no part
// here, so the sandbox is the process backend, the cheapest that really runs the calls.
const [sandbox] = backendsUnderTest().filter((b) => b.name === "process");
announceSkips("long sessions past the context window", [sandbox!]);

/** Model calls per long session, and the tool calls each asks for at once: 300 tool calls. */
const STEPS = 60;
const CALLS = 5;
/** Each session's window on the scripted model, and its agent's budget within it. */
interface Budget {
  readonly window: number;
  readonly max: number;
  readonly target: number;
}
/** CLEAR keeps every call and a stub per result (about 70 tokens a step): 300 steps need room. */
const CLEAR_BUDGET: Budget = { window: 30_000, max: 28_000, target: 20_000 };
const COMPACT_BUDGET: Budget = { window: 14_000, max: 12_000, target: 6_000 };
const SMALL_BUDGET: Budget = { window: 8_000, max: 6_000, target: 3_000 };
/**
 * A work bound, not a timing assertion: 300 tool calls with their model calls, appends and
 * sandbox calls take 10-60 s depending on the machine's load.
 */
const LONG = { timeout: 180_000 };

const responders = new Map<string, Responder>();
const windows = new Map<string, number>();
let fx: BrainFixture;
beforeAll(async () => {
  fx = await BrainFixture.start({
    model: {
      script: (req) => responders.get(req.body.model)?.(req) ?? { content: [{ type: "text", text: "unscripted" }] },
      contextWindow: (body) => windows.get(body.model),
    },
  });
  await Promise.all([fx.startWorker(), fx.startWorker()]);
});
afterAll(async () => fx?.stop());

/** A call that prints 600 characters naming it. */
const printCall = (name: string) => ({ type: "tool_use" as const, name: "bash", input: { command: `yes ${name} 2>/dev/null | head -c 600` } });
/** Step n asks for one such call. */
const printStep = (n: number): ScriptedResponse => ({ content: [printCall(`step-${n}`)] });
/** Step n asks for CALLS such calls at once (parallel tool use), named step-n-i. */
const printCalls = (n: number): ScriptedResponse => ({ content: Array.from({ length: CALLS }, (_, i) => printCall(`step-${n}-${i}`)) });

async function longSession(strategy: ContextStrategy, budget: Budget, responder: Responder): Promise<{ sessionId: string; model: string }> {
  const model = `ctx-${randomUUID()}`;
  responders.set(model, responder);
  windows.set(model, budget.window);
  const sessionId = await fx.createSession({
    model,
    maxTurnSteps: 1000,
    tools: [{ name: "bash", kind: ToolKind.SANDBOX }],
    sandbox: { backend: "process" },
    context: { strategy, maxInputTokens: budget.max, targetInputTokens: budget.target },
  });
  await fx.harness.wake({ sessionId });
  return { sessionId, model };
}

const requestsOf = (model: string) => fx.model.requests.filter((r) => r.body.model === model);
const contextEvents = (events: readonly Event[]) => events.flatMap((e) => (e.payload.case === "contextCompacted" ? [{ seq: fromInt64(e.seq), ...e.payload.value }] : []));

/** The checks every long session passes: complete log, results in order, actions within bounds. */
async function expectCompleted(sessionId: string, model: string, strategy: ContextStrategy, budget: Budget, calls: number): Promise<Event[]> {
  expect(await fx.waitIdle(sessionId, 0, 170_000)).toBe(StopReason.END_TURN);
  const events = await fx.events(sessionId);
  const { toolUseIds, problems } = logInvariants(events);
  expect(problems).toEqual([]);
  expect(toolUseIds).toHaveLength(calls);
  const acts = contextEvents(events);
  expect(acts.length).toBeGreaterThanOrEqual(2);
  for (const act of acts) {
    expect(act.strategy).toBe(strategy);
    expect(act.tokensBefore).toBeGreaterThan(BigInt(budget.max));
    expect(act.tokensAfter).toBeLessThanOrEqual(BigInt(budget.max));
    expect(act.summary === "").toBe(strategy === ContextStrategy.CLEAR);
  }
  expect(acts.map((a) => a.throughSeq)).toEqual([...acts.map((a) => a.throughSeq)].sort((x, y) => Number(x - y)));
  const requests = requestsOf(model);
  expect(requests.filter((r) => r.response?.kind === "error")).toEqual([]);
  for (const r of requests) expect(promptTokens(r.body)).toBeLessThanOrEqual(budget.max);
  // Each compaction is one summarising call; clearing needs none.
  expect(requests.filter((r) => stepOf(r.body) === "summary").length).toBe(strategy === ContextStrategy.COMPACT ? acts.length : 0);
  return events;
}

describe.skipIf(!sandbox?.available)("a session longer than the model's context window", () => {
  it.concurrent("HARN-21: CLEAR completes 300 tool calls, every request within max_input_tokens, each clearing in the log", LONG, async () => {
    const { sessionId, model } = await longSession(ContextStrategy.CLEAR, CLEAR_BUDGET, bySteps({ steps: STEPS, step: printCalls }));
    const events = await expectCompleted(sessionId, model, ContextStrategy.CLEAR, CLEAR_BUDGET, STEPS * CALLS);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    const wrong = results.filter((r, k) => r.isError || r.sandboxId === "" || !r.output.startsWith(`step-${Math.floor(k / CALLS)}-${k % CALLS}\n`));
    expect(wrong.map((r) => r.output.slice(0, 80))).toEqual([]);
  });

  it.concurrent(
    "HARN-21/HARN-23: COMPACT completes 304 tool calls; after compactions the model finds a marker from step 0 with session_history, and its slices are exact",
    LONG,
    async () => {
      const marker = `MARKER-${randomUUID()}`;
      // Step 0 prints the marker, steps 1 to SEARCH-1 make CALLS calls each, then three reads.
      const SEARCH = STEPS + 1;
      const lastOutput = (req: RecordedRequest) => String(lastToolResults(req.body)[0]?.content ?? "");
      const found = (req: RecordedRequest) => historyEntries(lastOutput(req)).filter((e) => e.text.includes(marker)).at(-1)!.seq;
      const { sessionId, model } = await longSession(
        ContextStrategy.COMPACT,
        COMPACT_BUDGET,
        bySteps({
          steps: SEARCH + 3,
          step: (n, req) => {
            if (n === 0) return { content: [{ type: "tool_use", name: "bash", input: { command: `echo ${marker}` } }] };
            if (n === SEARCH) return { content: [{ type: "tool_use", name: "session_history", input: { search: marker } }] };
            if (n === SEARCH + 1) return { content: [{ type: "tool_use", name: "session_history", input: { from_seq: found(req), to_seq: found(req) + 3 } }] };
            if (n === SEARCH + 2) return { content: [{ type: "tool_use", name: "session_history", input: { before_seq: historyEntries(lastOutput(req))[0]!.seq, count: 3 } }] };
            return printCalls(n);
          },
        }),
      );
      const events = await expectCompleted(sessionId, model, ContextStrategy.COMPACT, COMPACT_BUDGET, 1 + (SEARCH - 1) * CALLS + 3);
      const markerSeq = fromInt64(events.find((e) => e.payload.case === "toolResult" && e.payload.value.output.includes(marker))!.seq);
      expect(Number(contextEvents(events)[0]!.throughSeq)).toBeGreaterThan(markerSeq);

      const requests = requestsOf(model);
      expect(JSON.stringify(requests.find((r) => stepOf(r.body) === SEARCH)!.body.messages)).not.toContain(marker);
      const uses = events.flatMap((e) => (e.payload.case === "toolUse" && e.payload.value.name === "session_history" ? [e.payload.value] : []));
      expect(uses.map((u) => u.kind)).toEqual([ToolKind.HARNESS, ToolKind.HARNESS, ToolKind.HARNESS]);
      const outputs = uses.map((u) => events.flatMap((e) => (e.payload.case === "toolResult" && e.payload.value.toolUseId === u.toolUseId ? [e.payload.value] : []))[0]!);
      expect(outputs.every((o) => !o.isError && o.sandboxId === "")).toBe(true);
      const exact = (seq: number) => ({ seq, text: eventText(events[seq - 1]!).split("\n")[0]! });
      // The search names the marker's event by its seq and exact text; the slices are exact.
      expect(historyEntries(outputs[0]!.output)).toContainEqual(exact(markerSeq));
      expect(historyEntries(outputs[1]!.output)).toEqual([0, 1, 2, 3].map((i) => exact(markerSeq + i)));
      expect(historyEntries(outputs[2]!.output)).toEqual([3, 2, 1].map((i) => exact(markerSeq - i)));
      // The model saw what the tool read.
      expect(JSON.stringify(requests.find((r) => stepOf(r.body) === SEARCH + 1)!.body.messages)).toContain(marker);
    },
  );

  it.concurrent("HARN-21: under NONE the session ends at the window with a MODEL_PROMPT_TOO_LONG error event and IDLE / ERROR", async () => {
    const { sessionId, model } = await longSession(ContextStrategy.NONE, SMALL_BUDGET, bySteps({ steps: STEPS, step: printCalls }));
    expect(await fx.waitIdle(sessionId, 0, 60_000)).toBe(StopReason.ERROR);
    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    expect(contextEvents(events)).toEqual([]);
    const errors = events.flatMap((e) => (e.payload.case === "error" ? [e.payload.value] : []));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "MODEL_PROMPT_TOO_LONG", retryable: false, httpStatus: 400 });
    expect(errors[0]!.message).toContain(`> ${SMALL_BUDGET.window} maximum`);
    expect(promptTokens(requestsOf(model).at(-1)!.body)).toBeGreaterThan(SMALL_BUDGET.window);
    expect(events.filter((e) => e.payload.case === "toolResult").length).toBeLessThan(STEPS * CALLS);
  });
});

describe.skipIf(!sandbox?.available)("a brain killed right after it shrank the context", () => {
  it.each([
    ["COMPACT", ContextStrategy.COMPACT, "[Context compacted"],
    ["CLEAR", ContextStrategy.CLEAR, "[cleared: output of #"],
  ])("HARN-22: %s, then SIGKILL of the worker; the successor's first request is byte-identical to the dead brain's", async (_name, strategy, mark) => {
    let held: RecordedRequest | undefined;
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    const steps = bySteps({ steps: 60, step: printStep });
    const { sessionId, model } = await longSession(strategy, SMALL_BUDGET, async (req) => {
      // The first step after the first action is held until its brain is killed.
      if (!held && stepOf(req.body) !== "summary" && JSON.stringify(req.body.messages).includes(mark)) {
        held = req;
        await holding;
      }
      return steps(req);
    });
    const deadline = Date.now() + 60_000;
    while (!held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(held).toBeDefined();
    const before = await fx.events(sessionId);
    expect(contextEvents(before)).toHaveLength(1);
    const victim = await fx.workerOf(sessionId);
    expect(victim).toBeDefined();
    await fx.kill(victim!);
    release();
    fx.workers.splice(fx.workers.indexOf(victim!), 1);
    void fx.startWorker();
    expect(await fx.waitIdle(sessionId, 0, 60_000)).toBe(StopReason.END_TURN);

    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const starts = events.filter((e) => e.payload.case === "harnessStarted").map((e) => fromInt64(e.seq));
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts[1]).toBeGreaterThan(contextEvents(before)[0]!.seq);
    const requests = requestsOf(model);
    const successorFirst = requests[requests.indexOf(held!) + 1]!;
    // The successor rebuilt the context from the log alone, without acting again.
    expect(stepOf(successorFirst.body)).not.toBe("summary");
    expect(contextEvents(events)[1]?.seq ?? Infinity).toBeGreaterThan(starts[1]!);
    expect(JSON.stringify(successorFirst.body)).toBe(JSON.stringify(held!.body));
  });
});
