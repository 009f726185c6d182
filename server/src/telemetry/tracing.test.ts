import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import { createOmaClient } from "@oma/client/node";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../testing/server-process.js";
import { tempDir } from "../testing/temp-dir.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./testing/otlp-receiver.js";

// A session's turn, run by a real `oma serve` and its worker process with
// OTEL_EXPORTER_OTLP_ENDPOINT set, arrives at a real OTLP/HTTP receiver as one connected
// trace: Wake → invoke_agent (worker) → chat (GenAI attributes) → execute_tool → the
// server's Execute span → the sandbox span, every span carrying the session id. A client's
// stand-alone emits are sampled (sampler.ts); one made inside the client's trace is recorded.
let receiver: OtlpReceiver;
let model: ScriptedModel;
let server: ServerProcess;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  model = await startScriptedModel({
    script: byStep([{ content: [{ type: "text", text: "Listing." }, { type: "tool_use", name: "bash", input: { command: "echo traced" } }] }, { content: [{ type: "text", text: "Done." }] }]),
  });
  dir = await tempDir("oma-trace-");
  server = await startServerProcess(dir.path, {
    args: ["--workers", "1", "--sandbox-backend", "process"],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      ANTHROPIC_API_KEY: `sk-ant-test-${randomUUID()}`,
      ANTHROPIC_BASE_URL: model.url,
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await dir?.remove();
  await model?.close();
  await receiver?.close();
});

const byName = (spans: readonly ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe("traces over OTLP", () => {
  it("a turn is one connected trace across the worker and the server, with GenAI attributes and the session on every span", async () => {
    const client = createOmaClient({ baseUrl: server.url, token: server.adminToken });
    const sessionId = `traced-${randomUUID()}`;
    await client.sessions.createSession({ sessionId, agent: { model: "claude-traced", maxTokens: 1234 } });
    await client.sessions.emit(sessionId, { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } });
    await client.harness.wake({ sessionId });
    for await (const e of client.sessions.watch(sessionId)) {
      if (e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.IDLE) break;
    }
    const wakeOf = (spans: readonly ReceivedSpan[]) => spans.find((s) => s.name === "oma.v1.HarnessService/Wake" && s.attributes["oma.session.id"] === sessionId);
    await receiver.waitFor((spans) => {
      const wake = wakeOf(spans);
      if (!wake) return false;
      const trace = spans.filter((s) => s.traceId === wake.traceId);
      // The AppendEvents stream's span ends when the brain closes it, after its last append.
      return ["invoke_agent", "chat claude-traced", "execute_tool bash", "oma.v1.SandboxService/Execute", "oma.sandbox.execute", "oma.v1.SessionService/AppendEvents"].every((n) => byName(trace, n).length > 0) && byName(trace, "chat claude-traced").length === 2;
    }, 30_000);

    const wake = wakeOf(receiver.spans)!;
    const trace = receiver.spans.filter((s) => s.traceId === wake.traceId);
    // One tree: every span's parent is in the trace, and the only root is the Wake.
    const ids = new Set(trace.map((s) => s.spanId));
    expect(trace.filter((s) => !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual(["oma.v1.HarnessService/Wake"]);
    expect(wake.parentSpanId).toBe("");
    // Worker and server spans share it.
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(["oma-server", "oma-worker"]));
    const parentOf = (s: ReceivedSpan) => trace.find((p) => p.spanId === s.parentSpanId);
    const agent = byName(trace, "invoke_agent")[0]!;
    expect(agent.service).toBe("oma-worker");
    expect(parentOf(agent)).toBe(wake);
    expect(agent.attributes).toMatchObject({ "gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": sessionId, "oma.brain.end": "END_TURN" });

    const chats = byName(trace, "chat claude-traced");
    for (const chat of chats) {
      expect(parentOf(chat)).toBe(agent);
      expect(chat.kind).toBe(3); // CLIENT
      expect(chat.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-traced",
        "gen_ai.request.max_tokens": 1234,
        "gen_ai.conversation.id": sessionId,
      });
      expect(chat.attributes["gen_ai.response.id"]).toEqual(expect.any(String));
      expect(chat.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
      expect(chat.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    }
    expect(chats.map((c) => c.attributes["gen_ai.response.finish_reasons"])).toEqual(expect.arrayContaining([["tool_use"], ["end_turn"]]));

    const tool = byName(trace, "execute_tool bash")[0]!;
    expect(parentOf(tool)).toBe(agent);
    expect(tool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "bash" });
    const execute = byName(trace, "oma.v1.SandboxService/Execute")[0]!;
    expect(execute.service).toBe("oma-server");
    expect(execute.kind).toBe(2); // SERVER
    expect(parentOf(execute)).toBe(tool);
    const sandbox = byName(trace, "oma.sandbox.execute")[0]!;
    expect(parentOf(sandbox)).toBe(execute);
    expect(sandbox.attributes).toMatchObject({ "oma.sandbox.backend": "process", "gen_ai.tool.name": "bash", "process.exit.code": 0 });

    // The brain's appends (one AppendEvents stream) are a server span of the same trace.
    expect(trace.filter((s) => s.name === "oma.v1.SessionService/AppendEvents" && s.service === "oma-server").length).toBeGreaterThan(0);
    // Every span the worker made is in the turn's trace, and is OMA's: the Messages API SDK
    // makes none of its own (it would be the root of a trace apart).
    const workerSpans = receiver.spans.filter((s) => s.service === "oma-worker");
    expect(workerSpans.filter((s) => s.traceId !== wake.traceId || s.scope !== "oma").map((s) => `${s.scope}: ${s.name}`)).toEqual([]);
    // Each span starts when its work began, after its parent's start, though every span is
    // made once it has ended (late-span.ts, span-clock.ts); a chat span lies within its brain's.
    for (const s of trace) {
      expect(s.endMs, s.name).toBeGreaterThanOrEqual(s.startMs);
      const parent = parentOf(s);
      if (parent) expect(s.startMs, `${s.name} under ${parent.name}`).toBeGreaterThanOrEqual(parent.startMs);
    }
    for (const chat of chats) expect(chat.endMs).toBeLessThanOrEqual(agent.endMs);
    expect(chats.every((c) => c.endMs - c.startMs > 0)).toBe(true);
    // Session id on every OMA span; seq on every span that is about a place in the log.
    for (const s of trace.filter((s) => s.scope === "oma")) expect(s.attributes["oma.session.id"], s.name).toBe(sessionId);
    for (const s of [wake, agent, ...chats, tool, execute, sandbox]) expect(s.attributes["oma.session.seq"], s.name).toEqual(expect.any(Number));
  });

  it("records one in a hundred stand-alone emits, and every emit made inside a trace", async () => {
    const client = createOmaClient({ baseUrl: server.url, token: server.adminToken });
    const sessionId = `sampled-${randomUUID()}`;
    await client.sessions.createSession({ sessionId, agent: { model: "claude-traced" } });
    const custom = (n: number) => ({ case: "custom" as const, value: { type: "sampled", data: { n } } });
    for (let n = 0; n < 300; n++) await client.sessions.emit(sessionId, custom(n));
    // A caller's trace (W3C traceparent, sampled): its emit is a child span of the caller's.
    const traceId = randomBytes(16).toString("hex");
    const callerSpanId = randomBytes(8).toString("hex");
    const traced = createOmaClient({
      baseUrl: server.url,
      token: server.adminToken,
      interceptors: [(next) => (req) => (req.header.set("traceparent", `00-${traceId}-${callerSpanId}-01`), next(req))],
    });
    await traced.sessions.emit(sessionId, custom(300));
    const emitsOf = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.name === "oma.v1.SessionService/EmitEvent" && s.attributes["oma.session.id"] === sessionId);
    await receiver.waitFor((spans) => emitsOf(spans).some((s) => s.traceId === traceId), 30_000);
    // The session's creation starts a trace of its own, recorded.
    expect(receiver.spans.filter((s) => s.name === "oma.v1.SessionService/CreateSession" && s.attributes["oma.session.id"] === sessionId)).toHaveLength(1);
    const emits = emitsOf(receiver.spans);
    const inTrace = emits.filter((s) => s.traceId === traceId);
    expect(inTrace).toHaveLength(1);
    expect(inTrace[0]!.parentSpanId).toBe(callerSpanId);
    // 300 stand-alone emits at 1 in 100: 3 expected; 15 or more has a chance below 1e-6.
    const standalone = emits.filter((s) => s.traceId !== traceId);
    expect(standalone.length).toBeLessThan(15);
    for (const s of standalone) expect(s.parentSpanId).toBe("");
  });
});
