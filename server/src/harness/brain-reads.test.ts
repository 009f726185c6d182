import { assistantTurns, type RecordedRequest, type ScriptedResponse } from "@oma/conformance/scripted-model";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { parsePrometheusText } from "../telemetry/testing/prometheus-text.js";
import { fromInt64 } from "./int64.js";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// How often a brain reads the log (GetEvents) and how it appends (one AppendEvents stream,
// no EmitEvents) in a turn, counted at the server, and that a message another client sends
// mid-turn is still answered in that turn.
const all = backendsUnderTest();
const backend = all.find((b) => b.name === "bubblewrap" && b.available) ?? all.find((b) => b.name === "process" && b.available);
if (!backend) console.warn("!!! SKIPPED brain read tests because neither bubblewrap nor the process backend can run here");
else if (backend.name !== "bubblewrap") announceSkips("brain read tests", all.filter((b) => b.name === "bubblewrap"));

/** A turn of three tool calls that reads its log once, at the start, makes this many GetEvents. */
const GET_EVENTS_PER_TURN = 1;
const LATE_MESSAGE = "also say banana";

let fx: BrainFixture;
/** Sessions whose step-1 model call waits until another client has sent LATE_MESSAGE. */
const interjected = new Set<string>();

function textOf(req: RecordedRequest): string {
  return JSON.stringify(req.body.messages);
}

async function respond(req: RecordedRequest): Promise<ScriptedResponse> {
  const step = assistantTurns(req.body);
  const sessionId = [...interjected].find((id) => textOf(req).includes(id));
  // Between the first and the second tool call: the model is busy, another client speaks.
  if (sessionId && step === 1) await fx.say(sessionId, LATE_MESSAGE);
  if (step < 3) return { content: [{ type: "tool_use", name: "bash", input: { command: `echo call ${step}` } }] };
  return { content: [{ type: "text", text: textOf(req).includes(LATE_MESSAGE) ? "banana" : "done" }] };
}

/** RPCs the server has finished, by method (`SessionService/GetEvents`), whatever their code. */
async function rpcCounts(): Promise<Map<string, number>> {
  const res = await fetch(`${fx.app.url}/metrics`, { headers: { authorization: `Bearer ${fx.app.adminToken}` } });
  const counts = new Map<string, number>();
  for (const s of parsePrometheusText(await res.text()).get("oma_rpc_requests_total")?.samples ?? []) {
    const method = s.labels["method"]!.replace(/^oma\.v1\./, "");
    counts.set(method, (counts.get(method) ?? 0) + s.value);
  }
  return counts;
}

function countsSince(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([method, n]) => [method, n - (before.get(method) ?? 0)] as const).filter(([, n]) => n > 0));
}

/**
 * Waits for IDLE without a lease through GetSession only, so the test itself reads no
 * events; returns how many GetSession calls it made.
 */
async function waitIdleWithoutReading(sessionId: string): Promise<number> {
  for (let calls = 1; ; calls++) {
    const { session } = await fx.sessions.getSession({ sessionId });
    if (session?.status === SessionStatus.IDLE && !session.lease && fromInt64(session.headSeq) > 1) return calls;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  fx = await BrainFixture.start({ model: { script: respond } });
  await fx.startWorker();
});
afterAll(async () => fx?.stop());

describe.skipIf(!backend)(`the brain's reads of the log (${backend?.name ?? "none"})`, () => {
  const sandbox = { backend: backend?.name ?? "" };

  it("reads the log once in a turn of three tool calls, where it wrote every event after the first read", async () => {
    const sessionId = await fx.createSession({ sandbox }, `reads-${randomUUID()}`);
    const before = await rpcCounts();
    await fx.harness.wake({ sessionId });
    const polls = await waitIdleWithoutReading(sessionId);
    const turn = countsSince(before, await rpcCounts());
    // The test's own calls are not the brain's.
    turn.set("HarnessService/Wake", (turn.get("HarnessService/Wake") ?? 0) - 1);
    turn.set("SessionService/GetSession", (turn.get("SessionService/GetSession") ?? 0) - polls);

    const events = await fx.events(sessionId);
    const { toolUseIds, problems } = logInvariants(events);
    expect(problems).toEqual([]);
    expect(toolUseIds).toHaveLength(3);
    const last = events.at(-1)!.payload;
    expect(last.case === "statusChanged" && last.value.stopReason).toBe(StopReason.END_TURN);
    const rpcs = [...turn].filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b));
    console.info(`RPCs in a turn of three tool calls: ${rpcs.reduce((sum, [, n]) => sum + n, 0)} (${rpcs.map(([m, n]) => `${m} ${n}`).join(", ")})`);
    expect(turn.get("SessionService/GetEvents") ?? 0).toBeLessThanOrEqual(GET_EVENTS_PER_TURN);
    // Every append of the brain went over its one AppendEvents stream, closed before its lease was released.
    expect(turn.get("SessionService/EmitEvents") ?? 0).toBe(0);
    expect(turn.get("SessionService/AppendEvents") ?? 0).toBe(1);
  });

  it("answers a message another client sends between two tool calls in the same turn, without idling over it", async () => {
    const sessionId = `hs-${randomUUID()}`;
    interjected.add(sessionId);
    await fx.sessions.createSession({ sessionId, agent: { model: "scripted", sandbox } });
    await fx.say(sessionId, `interject ${sessionId}`);
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);

    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const kinds = events.map((e) => e.payload.case);
    // One brain, one turn: started once, idle once, at the end, after the late message.
    expect(kinds.filter((k) => k === "harnessStarted")).toHaveLength(1);
    const idles = events.filter((e) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.IDLE);
    expect(idles).toHaveLength(1);
    const late = events.findIndex((e) => e.payload.case === "userMessage" && JSON.stringify(e.payload.value.content).includes(LATE_MESSAGE));
    expect(late).toBeGreaterThan(kinds.indexOf("toolResult"));
    const answers = events.slice(late).flatMap((e) => (e.payload.case === "agentMessage" ? [JSON.stringify(e.payload.value.content)] : []));
    expect(answers.some((a) => a.includes("banana"))).toBe(true);
  });
});
