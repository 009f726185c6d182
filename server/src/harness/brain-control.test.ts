import { assistantTurns, lastToolResults, type RecordedRequest, type ScriptedResponse } from "@oma/conformance/scripted-model";
import { ConfirmationDecision } from "@oma/client/gen/oma/v1/event_pb.js";
import { StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { durationMs } from "./duration.js";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// HARN-9..HARN-12 through a real worker process and a real sandbox.
const all = backendsUnderTest();
const backend = all.find((b) => b.name === "bubblewrap" && b.available) ?? all.find((b) => b.name === "process" && b.available);
if (!backend) console.warn("!!! SKIPPED brain control tests because neither bubblewrap nor the process backend can run here");
else if (backend.name !== "bubblewrap") announceSkips("brain control tests", all.filter((b) => b.name === "bubblewrap"));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_ATTEMPTS = 4;
const IDLE_TIMEOUT_MS = 1_500;

function scenarioOf(req: RecordedRequest): string {
  const first = req.body.messages[0];
  if (!first) return "";
  return typeof first.content === "string" ? first.content : String(first.content.find((b) => b["type"] === "text")?.["text"] ?? "");
}

const attempts = new Map<string, number>();
function respond(req: RecordedRequest): ScriptedResponse {
  const scenario = scenarioOf(req);
  const step = assistantTurns(req.body);
  const key = `${scenario}:${step}`;
  const attempt = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, attempt);
  const done: ScriptedResponse = { content: [{ type: "text", text: `done: ${JSON.stringify(lastToolResults(req.body).map((r) => r.content))}` }] };
  if (scenario.startsWith("interrupt-model")) {
    return step === 0 ? { content: [{ type: "text", text: "x".repeat(400) }], chunkChars: 4, latency: { perChunkMs: 100 } } : done;
  }
  if (scenario.startsWith("supersede")) {
    return step === 0 ? { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 30" } }] } : { content: [{ type: "text", text: "continuing as asked" }] };
  }
  if (scenario.startsWith("interrupt-tool")) {
    return step === 0 ? { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 30" } }] } : done;
  }
  if (scenario.startsWith("confirm")) {
    if (step === 0) return { content: [{ type: "tool_use", name: "bash", input: { command: "echo allowed-ran" } }] };
    if (step === 1) return { content: [{ type: "tool_use", name: "bash", input: { command: "echo denied-ran" } }] };
    return done;
  }
  if (scenario.startsWith("answered")) {
    return step === 0 ? { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 2; echo brain-ran" } }] } : done;
  }
  if (scenario.startsWith("custom")) {
    return step === 0 ? { content: [{ type: "tool_use", name: "lookup", input: { q: "answer" } }] } : done;
  }
  if (scenario.startsWith("rate")) {
    return attempt === 1 ? { kind: "error", status: 429, retryAfterSeconds: 0.05 } : { content: [{ type: "text", text: "after the rate limit" }] };
  }
  if (scenario.startsWith("nobackend")) return step === 0 ? { content: [{ type: "tool_use", name: "bash", input: { command: "true" } }] } : done;
  if (scenario.startsWith("steps")) return { content: [{ type: "tool_use", name: "bash", input: { command: `echo step ${step}` } }] };
  if (scenario.startsWith("maxtok")) return { content: [{ type: "text", text: "cut off" }], stopReason: "max_tokens" };
  if (scenario.startsWith("fail500")) return { kind: "error", status: 500 };
  if (scenario.startsWith("hang")) {
    return attempt === 1 ? { content: [{ type: "text", text: "never sent" }], latency: { firstByteMs: 60_000 } } : { content: [{ type: "text", text: "after the hang" }] };
  }
  if (scenario.startsWith("bad400")) return { kind: "error", status: 400, message: "bad request" };
  return done;
}

let fx: BrainFixture;
beforeAll(async () => {
  if (!backend) return;
  fx = await BrainFixture.start({ model: { script: respond } });
  await fx.startWorker(["--model-max-attempts", String(MAX_ATTEMPTS), "--model-idle-timeout-ms", String(IDLE_TIMEOUT_MS)]);
});
afterAll(async () => fx?.stop());

const unique = (name: string) => `${name} ${Math.random().toString(36).slice(2)}`;
async function waitFor(sessionId: string, kind: string) {
  for (let i = 0; i < 600; i++) {
    if ((await fx.events(sessionId)).some((e) => e.payload.case === kind)) return;
    await sleep(25);
  }
  throw new Error(`no ${kind} in ${sessionId}`);
}

describe.skipIf(!backend)(`brain control flow (${backend?.name ?? "none"})`, () => {
  const sandbox = { backend: backend?.name ?? "" };

  it("HARN-9: a user_interrupt aborts the streaming model call: IDLE INTERRUPTED, no partial answer", async () => {
    const sessionTag = unique("interrupt-model");
    const sessionId = await fx.createSession({ sandbox }, sessionTag);
    await fx.harness.wake({ sessionId });
    const before = fx.model.requests.length;
    for (let i = 0; i < 500 && !fx.model.requests.slice(Math.max(0, before - 1)).some((r) => r.body.messages.length === 1 && JSON.stringify(r.body.messages).includes(sessionTag)); i++) await sleep(20);
    await sleep(200);
    await fx.emit(sessionId, { case: "userInterrupt", value: { reason: "stop" } });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.INTERRUPTED);
    const events = await fx.events(sessionId);
    expect(events.some((e) => e.payload.case === "agentMessage")).toBe(false);
  });

  it("HARN-9: a user_interrupt stops a running tool: its result is an error and the session is IDLE INTERRUPTED", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("interrupt-tool"));
    await fx.harness.wake({ sessionId });
    await waitFor(sessionId, "sandboxProvisioned");
    await sleep(300);
    await fx.emit(sessionId, { case: "userInterrupt", value: {} });
    // Bounded below the tool's 30 s sleep: only an aborted call ends the turn in time.
    expect(await fx.waitIdle(sessionId, 0, 20_000)).toBe(StopReason.INTERRUPTED);
    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const result = events.find((e) => e.payload.case === "toolResult")?.payload;
    expect(result?.case === "toolResult" && result.value.isError).toBe(true);
    expect(result?.case === "toolResult" && result.value.output).toMatch(/^Interrupted/);
  });

  it("HARN-9: a message sent right after an interrupt is still answered (the client wakes the session after it)", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("supersede"));
    await fx.harness.wake({ sessionId });
    await waitFor(sessionId, "sandboxProvisioned");
    await fx.emit(sessionId, { case: "userInterrupt", value: {} });
    await fx.say(sessionId, "never mind, continue");
    await fx.harness.wake({ sessionId });
    const events = await (async () => {
      for (let i = 0; i < 400; i++) {
        const all = await fx.events(sessionId);
        const last = all.at(-1)?.payload;
        if (last?.case === "statusChanged" && last.value.stopReason === StopReason.END_TURN) return all;
        await sleep(50);
      }
      throw new Error("no END_TURN");
    })();
    expect(logInvariants(events).problems).toEqual([]);
    const result = events.find((e) => e.payload.case === "toolResult")?.payload;
    expect(result?.case === "toolResult" && result.value.output).toMatch(/^Interrupted/);
    const answer = events.filter((e) => e.payload.case === "agentMessage").at(-1)?.payload;
    expect(answer?.case === "agentMessage" && answer.value.content[0]?.block.value).toMatchObject({ text: "continuing as asked" });
    const asked = fx.model.requests.filter((r) => JSON.stringify(r.body.messages).includes("never mind, continue"));
    expect(asked.length).toBeGreaterThanOrEqual(1);
  });

  it("HARN-10: a tool that requires confirmation waits (REQUIRES_ACTION); ALLOW runs it, DENY hands the model the deny message", async () => {
    const sessionId = await fx.createSession({ sandbox, tools: [{ name: "bash", kind: ToolKind.SANDBOX, requiresConfirmation: true }] }, unique("confirm"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.REQUIRES_ACTION);
    let events = await fx.events(sessionId);
    const first = events.flatMap((e) => (e.payload.case === "toolUse" ? [e.payload.value] : []));
    expect(first).toHaveLength(1);
    expect(first[0]!.requiresConfirmation).toBe(true);
    expect(events.some((e) => e.payload.case === "sandboxProvisioned")).toBe(false); // nothing ran
    await fx.emit(sessionId, { case: "toolConfirmation", value: { toolUseId: first[0]!.toolUseId, decision: ConfirmationDecision.ALLOW } });
    let head = events.length + 1;
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId, head)).toBe(StopReason.REQUIRES_ACTION);
    events = await fx.events(sessionId);
    const second = events.flatMap((e) => (e.payload.case === "toolUse" ? [e.payload.value] : []))[1]!;
    await fx.emit(sessionId, { case: "toolConfirmation", value: { toolUseId: second.toolUseId, decision: ConfirmationDecision.DENY, denyMessage: "not that one" } });
    head = events.length + 1;
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId, head)).toBe(StopReason.END_TURN);
    events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    expect(results.map((r) => [r.isError, r.output.trim()])).toEqual([
      [false, "allowed-ran"],
      [true, "not that one"],
    ]);
  });

  it("a call whose result someone else recorded while it ran is taken as answered: the brain reads the log on, no second result, no failed turn", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("answered"));
    await fx.harness.wake({ sessionId });
    await waitFor(sessionId, "sandboxProvisioned");
    const toolUse = (await fx.events(sessionId)).find((e) => e.payload.case === "toolUse")?.payload;
    if (toolUse?.case !== "toolUse") throw new Error("no tool_use");
    // Under the key the brain records its result with: what a predecessor whose append was
    // still being written when this brain read the log leaves behind.
    await fx.sessions.emitEvent({
      sessionId,
      event: { payload: { case: "toolResult", value: { toolUseId: toolUse.value.toolUseId, output: "answered-elsewhere" } } },
      idempotencyKey: `result:${toolUse.value.toolUseId}`,
    });
    expect(await fx.waitIdle(sessionId, 0, 20_000)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value.output] : []));
    expect(results).toEqual(["answered-elsewhere"]);
    const answer = events.filter((e) => e.payload.case === "agentMessage").at(-1)?.payload;
    expect(answer?.case === "agentMessage" && JSON.stringify(answer.value.content)).toContain("answered-elsewhere");
  });

  it("HARN-11: a custom tool waits for the client's custom_tool_result, which the model then sees", async () => {
    const sessionId = await fx.createSession(
      {
        sandbox,
        tools: [{ name: "lookup", kind: ToolKind.CUSTOM, description: "Looks things up in the client's database.", inputSchema: { type: "object", properties: { q: { type: "string" } } } }],
      },
      unique("custom"),
    );
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.REQUIRES_ACTION);
    const events = await fx.events(sessionId);
    const use = events.flatMap((e) => (e.payload.case === "toolUse" ? [e.payload.value] : []))[0]!;
    expect(use.kind).toBe(ToolKind.CUSTOM);
    await fx.emit(sessionId, { case: "customToolResult", value: { toolUseId: use.toolUseId, output: "forty-two" } });
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId, events.length + 1)).toBe(StopReason.END_TURN);
    const final = await fx.events(sessionId);
    expect(logInvariants(final).problems).toEqual([]);
    const answer = final.flatMap((e) => (e.payload.case === "agentMessage" ? [e.payload.value.content[0]?.block.value] : [])).at(-1);
    expect(JSON.stringify(answer)).toContain("forty-two");
  });

  it("HARN-12: a 429 is recorded as a retryable error event, retried after retry-after, then the turn completes", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("rate"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    const errors = events.flatMap((e) => (e.payload.case === "error" ? [e.payload.value] : []));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "MODEL_RATE_LIMITED", retryable: true, attempt: 1, httpStatus: 429 });
    expect(durationMs(errors[0]!.retryAfter)).toBe(50);
    expect(events.some((e) => e.payload.case === "agentMessage")).toBe(true);
  });

  it("HARN-12: a model failing with 500 forever ends the turn RETRIES_EXHAUSTED after every attempt is recorded", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("fail500"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.RETRIES_EXHAUSTED);
    const errors = (await fx.events(sessionId)).flatMap((e) => (e.payload.case === "error" ? [e.payload.value] : []));
    expect(errors.map((e) => [e.attempt, e.retryable, e.httpStatus, e.code])).toEqual(
      Array.from({ length: MAX_ATTEMPTS }, (_, i) => [i + 1, i + 1 < MAX_ATTEMPTS, 500, "MODEL_SERVER_ERROR"]),
    );
  });

  it("HARN-12: a response that never comes is given up after the idle timeout, recorded and retried", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("hang"));
    await fx.harness.wake({ sessionId });
    // Bounded well below the hung response's 60 s: only the idle timeout ends the attempt in time.
    expect(await fx.waitIdle(sessionId, 0, 20_000)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    const errors = events.flatMap((e) => (e.payload.case === "error" ? [e.payload.value] : []));
    expect(errors.map((e) => [e.code, e.retryable, e.attempt])).toEqual([["MODEL_CONNECTION_ERROR", true, 1]]);
    expect(errors[0]!.message).toContain(`no data from the model for ${IDLE_TIMEOUT_MS} ms`);
    expect(events.some((e) => e.payload.case === "agentMessage")).toBe(true);
  });

  it("a sandbox recipe no backend here runs is refused at CreateSession, before any brain or sandbox", async () => {
    await expect(fx.createSession({ sandbox: { backend: "no-such-backend" } }, unique("nobackend"))).rejects.toMatchObject({ rawMessage: expect.stringContaining("no-such-backend") });
  });

  it("a sandbox recipe the service refuses at Provision is the tool call's error for the model, and the turn goes on", async () => {
    // CreateSession checks a recipe's fields; whether its repository's credential exists is
    // known only when the sandbox is provisioned.
    const repositories = [{ url: "http://127.0.0.1:9/repo.git", credentialId: "cred_missing", path: "repo" }];
    const sessionId = await fx.createSession({ sandbox: { ...sandbox, repositories } }, unique("nobackend"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const result = events.find((e) => e.payload.case === "toolResult")?.payload;
    expect(result?.case === "toolResult" && result.value.isError).toBe(true);
    expect(result?.case === "toolResult" && result.value.output).toContain("CREDENTIAL_NOT_FOUND");
    expect(events.some((e) => e.payload.case === "sandboxProvisioned")).toBe(false);
  });

  it("AgentConfig.max_turn_steps bounds the model calls of a turn: IDLE MAX_STEPS", async () => {
    const sessionId = await fx.createSession({ sandbox, maxTurnSteps: 2 }, unique("steps"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.MAX_STEPS);
    const events = await fx.events(sessionId);
    expect(events.filter((e) => e.payload.case === "modelUsage")).toHaveLength(2);
    expect(logInvariants(events).problems).toEqual([]);
  });

  it("a response cut at max_tokens ends the turn with MAX_TOKENS, the model asked with the agent's max_tokens", async () => {
    const tag = unique("maxtok");
    const sessionId = await fx.createSession({ sandbox, maxTokens: 321 }, tag);
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.MAX_TOKENS);
    const request = fx.model.requests.find((r) => scenarioOf(r) === tag);
    expect(request?.body.max_tokens).toBe(321);
  });

  it("HARN-12: a non-retryable model error ends the turn with one error event and ERROR", async () => {
    const sessionId = await fx.createSession({ sandbox }, unique("bad400"));
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.ERROR);
    const errors = (await fx.events(sessionId)).flatMap((e) => (e.payload.case === "error" ? [e.payload.value] : []));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "MODEL_REQUEST_INVALID", retryable: false, httpStatus: 400 });
  });
});
