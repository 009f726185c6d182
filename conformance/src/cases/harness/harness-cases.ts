import { SessionStatus, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { ConfirmationDecision } from "@oma/client/gen/oma/v1/event_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual } from "../../runner/assertions.js";
import { S, readAll } from "../session/session-helpers.js";
import { watch } from "../watch.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, toolCall, untilIdle } from "./harness-helpers.js";

const core = { feature: "harness.core", level: "MUST", needs: ["harness"], timeoutMs: 60_000 } as const;

export const harnessCases: ConformanceCase[] = [
  {
    ...core,
    id: "harness/HARN-1/wake-idempotent",
    requirement: "HARN-1",
    title: "a second Wake while the brain holds its lease returns the same harness with already_running",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, byStep([{ ...text("slow hello"), latency: { firstByteMs: 2000 } }]));
      const at = await say(ctx, sessionId, "hi");
      const first = await ctx.rpc.unary(H.wake, { sessionId });
      check(!first.alreadyRunning && first.harnessId !== "" && first.leaseEpoch > 0n, `first Wake: ${first.harnessId} epoch ${first.leaseEpoch} already_running ${first.alreadyRunning}`);
      const again = await ctx.rpc.unary(H.wake, { sessionId });
      check(again.alreadyRunning, "a second Wake must report already_running");
      checkEqual(again.harnessId, first.harnessId, "harness id of the second Wake");
      checkEqual(again.leaseEpoch, first.leaseEpoch, "epoch of the second Wake");
      const turn = await untilIdle(ctx, sessionId, at);
      checkEqual(ofKind(turn, "harnessStarted").length, 1, "harness_started events in the turn");
    },
  },
  {
    ...core,
    id: "harness/HARN-2/one-brain-per-session",
    requirement: "HARN-2",
    title: "8 concurrent Wake calls start exactly one brain: one harness id, one harness_started",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, byStep([{ ...text("one brain"), latency: { firstByteMs: 1500 } }]));
      const at = await say(ctx, sessionId, "hi");
      const clients = [ctx.rpc, ctx.newClient(), ctx.newClient()];
      const wakes = await Promise.all(Array.from({ length: 8 }, (_, i) => clients[i % 3]!.unary(H.wake, { sessionId })));
      checkEqual(new Set(wakes.map((w) => w.harnessId)).size, 1, "distinct harness ids");
      checkEqual(wakes.filter((w) => !w.alreadyRunning).length, 1, "wakes that started a brain");
      const turn = await untilIdle(ctx, sessionId, at);
      checkEqual(ofKind(turn, "harnessStarted").length, 1, "harness_started events");
      checkEqual(ofKind(turn, "agentMessage").length, 1, "agent messages (one model reply, written once)");
    },
  },
  {
    ...core,
    id: "harness/HARN-10/confirmation",
    requirement: "HARN-10",
    title: "a tool that requires confirmation waits (IDLE / REQUIRES_ACTION); DENY hands the model an error with the deny message, ALLOW runs it",
    async run(ctx) {
      const { sessionId, model } = await scriptedSession(
        ctx,
        byStep([toolCall("bash", { command: "echo first-approved" }), toolCall("bash", { command: "echo second-approved" }), text("done")]),
        { tools: [{ name: "bash", kind: ToolKind.SANDBOX, requiresConfirmation: true }] },
      );
      const at = await say(ctx, sessionId, "run two commands");
      await ctx.rpc.unary(H.wake, { sessionId });
      const waiting = await untilIdle(ctx, sessionId, at);
      checkEqual(lastStatus(waiting).stopReason, StopReason.REQUIRES_ACTION, "stop reason while the tool waits");
      const first = ofKind(waiting, "toolUse")[0];
      check(first?.requiresConfirmation, "the tool_use must be marked requires_confirmation");
      check(ofKind(waiting, "toolResult").length === 0, "the tool must not run before confirmation");
      const deny = await ctx.rpc.unary(S.emitEvent, {
        sessionId,
        event: { payload: { case: "toolConfirmation", value: { toolUseId: first.toolUseId, decision: ConfirmationDecision.DENY, denyMessage: "not-allowed-7" } } },
      });
      await ctx.rpc.unary(H.wake, { sessionId });
      const afterDeny = await untilIdle(ctx, sessionId, Number(deny.event?.seq ?? 0));
      const denied = ofKind(afterDeny, "toolResult").find((r) => r.toolUseId === first.toolUseId);
      check(denied?.isError && denied.output.includes("not-allowed-7"), `a denied call is an error result with the deny message, got ${JSON.stringify(denied?.output)}`);
      const second = ofKind(afterDeny, "toolUse")[0];
      check(second && lastStatus(afterDeny).stopReason === StopReason.REQUIRES_ACTION, "the second call waits for confirmation too");
      const allow = await ctx.rpc.unary(S.emitEvent, {
        sessionId,
        event: { payload: { case: "toolConfirmation", value: { toolUseId: second.toolUseId, decision: ConfirmationDecision.ALLOW } } },
      });
      await ctx.rpc.unary(H.wake, { sessionId });
      const afterAllow = await untilIdle(ctx, sessionId, Number(allow.event?.seq ?? 0));
      const ran = ofKind(afterAllow, "toolResult").find((r) => r.toolUseId === second.toolUseId);
      check(ran && !ran.isError && ran.output.includes("second-approved"), "an allowed call runs");
      checkEqual(lastStatus(afterAllow).stopReason, StopReason.END_TURN, "stop reason at the end");
      check(JSON.stringify(ctx.harness!.requests(model)[1]?.body.messages ?? []).includes("not-allowed-7"), "the model receives the deny message");
    },
  },
  {
    ...core,
    level: "SHOULD",
    id: "harness/HARN-15/prompt-caching",
    requirement: "HARN-15",
    title: "model calls mark the stable prompt prefix with cache_control",
    async run(ctx) {
      const { sessionId, model } = await scriptedSession(ctx, byStep([toolCall("bash", { command: "echo cached" }), text("done")]), { systemPrompt: "a stable system prompt" });
      const at = await say(ctx, sessionId, "go");
      await ctx.rpc.unary(H.wake, { sessionId });
      await untilIdle(ctx, sessionId, at);
      const requests = ctx.harness!.requests(model);
      check(requests.length >= 2, "expected two model calls");
      check(requests.every((r) => JSON.stringify(r.body).includes('"cache_control"')), "every model call must carry cache_control breakpoints");
    },
  },
  {
    ...core,
    id: "harness/HARN-4/brain-loop",
    requirement: "HARN-4",
    title: "a turn records harness_started, RUNNING, the agent message, model_usage, then IDLE/END_TURN, and releases the lease",
    async run(ctx) {
      const { sessionId, model } = await scriptedSession(ctx, byStep([text("hello from the model")]), { systemPrompt: "be brief" });
      const at = await say(ctx, sessionId, "hi");
      const wake = await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      const started = ofKind(turn, "harnessStarted")[0];
      check(started?.harnessId === wake.harnessId && started.leaseEpoch === wake.leaseEpoch, "harness_started must name the woken harness and its epoch");
      check(turn.findIndex((e) => e.payload.case === "harnessStarted") < turn.findIndex((e) => e.payload.case === "agentMessage"), "harness_started comes before the agent message");
      check(ofKind(turn, "statusChanged")[0]?.status === SessionStatus.RUNNING, "the first status_changed of the turn must be RUNNING");
      const said = ofKind(turn, "agentMessage").flatMap((m) => m.content.map((b) => (b.block.case === "text" ? b.block.value.text : "")));
      checkEqual(said.join(""), "hello from the model", "agent message text");
      check(ofKind(turn, "modelUsage").length >= 1, "every model call records model_usage");
      const idle = lastStatus(turn);
      checkEqual(idle.stopReason, StopReason.END_TURN, "stop reason");
      const req = ctx.harness!.requests(model)[0];
      check(req !== undefined, "the model was never called");
      check(JSON.stringify(req.body.system ?? "").includes("be brief"), "the model call must carry the agent's system prompt");
      const deadline = Date.now() + ctx.scaled(10_000);
      while ((await ctx.rpc.unary(S.getSession, { sessionId })).session?.lease !== undefined) {
        check(Date.now() < deadline, "the brain must release its lease at the end of the turn");
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  },
  {
    ...core,
    id: "harness/HARN-7/tool-round-trip",
    requirement: "HARN-7",
    title: "a tool_use runs in a lazily provisioned sandbox and its tool_result reaches the model",
    async run(ctx) {
      const { sessionId, model } = await scriptedSession(ctx, byStep([toolCall("bash", { command: "echo tool-output-42" }), text("done")]));
      const at = await say(ctx, sessionId, "run it");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      const use = ofKind(turn, "toolUse")[0];
      check(use, "no tool_use event");
      const result = ofKind(turn, "toolResult").find((r) => r.toolUseId === use.toolUseId);
      check(result && !result.isError && result.output.includes("tool-output-42"), `tool_result: ${JSON.stringify(result?.output)}`);
      const provisioned = ofKind(turn, "sandboxProvisioned");
      checkEqual(provisioned.length, 1, "sandbox_provisioned events");
      checkEqual(result.sandboxId, provisioned[0]!.sandboxId, "the tool ran in the provisioned sandbox");
      const second = ctx.harness!.requests(model)[1];
      check(JSON.stringify(second?.body.messages ?? []).includes("tool-output-42"), "the model's next call must carry the tool result");
    },
  },
  {
    ...core,
    id: "harness/HARN-8/lazy-hands",
    requirement: "HARN-8",
    title: "a turn without tool calls provisions no sandbox",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, byStep([text("no tools needed")]));
      const at = await say(ctx, sessionId, "hi");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      checkEqual(ofKind(turn, "sandboxProvisioned").length, 0, "sandbox_provisioned events");
    },
  },
  {
    ...core,
    id: "harness/HARN-9/interrupt",
    requirement: "HARN-9",
    title: "a user_interrupt stops a slow model call and leaves the session IDLE / INTERRUPTED",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, byStep([{ ...text("too late"), latency: { firstByteMs: 20_000 } }]));
      const at = await say(ctx, sessionId, "hi");
      await ctx.rpc.unary(H.wake, { sessionId });
      await watch(ctx, sessionId, { afterSeq: at, withinMs: 15_000, until: (l) => l.events.some((e) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.RUNNING) });
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: { payload: { case: "userInterrupt", value: { reason: "stop" } } } });
      // The scripted reply would take 20 s; the turn must end well before it.
      const turn = await untilIdle(ctx, sessionId, at, 15_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.INTERRUPTED, "stop reason");
      check(ofKind(turn, "agentMessage").length === 0, "the interrupted reply must not be recorded");
    },
  },
  {
    ...core,
    id: "harness/HARN-11/custom-tool",
    requirement: "HARN-11",
    title: "a custom tool leaves the session IDLE / REQUIRES_ACTION until the client's custom_tool_result",
    async run(ctx) {
      const { sessionId, model } = await scriptedSession(ctx, byStep([toolCall("lookup", { q: "x" }), text("thanks")]), {
        tools: [{ name: "lookup", kind: ToolKind.CUSTOM, description: "Looks something up.", inputSchema: { type: "object", properties: { q: { type: "string" } } } as never }],
      });
      const at = await say(ctx, sessionId, "look it up");
      await ctx.rpc.unary(H.wake, { sessionId });
      const first = await untilIdle(ctx, sessionId, at);
      checkEqual(lastStatus(first).stopReason, StopReason.REQUIRES_ACTION, "stop reason while the custom tool waits");
      const use = ofKind(first, "toolUse")[0];
      check(use && use.kind === ToolKind.CUSTOM, "a CUSTOM tool_use must be recorded");
      const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event: { payload: { case: "customToolResult", value: { toolUseId: use.toolUseId, output: "answer-17" } } } });
      await ctx.rpc.unary(H.wake, { sessionId });
      const second = await untilIdle(ctx, sessionId, Number(res.event?.seq ?? 0));
      checkEqual(lastStatus(second).stopReason, StopReason.END_TURN, "stop reason after the result");
      check(JSON.stringify(ctx.harness!.requests(model)[1]?.body.messages ?? []).includes("answer-17"), "the model must receive the custom tool result");
    },
  },
  {
    ...core,
    id: "harness/HARN-12/model-retries",
    requirement: "HARN-12",
    title: "model 529/429 answers are retried, each recorded as a retryable error event; then the turn completes",
    async run(ctx) {
      let calls = 0;
      const { sessionId } = await scriptedSession(ctx, () => {
        calls++;
        if (calls === 1) return { kind: "error", status: 529, retryAfterSeconds: 0.1 };
        if (calls === 2) return { kind: "error", status: 429, retryAfterSeconds: 0.1 };
        return text("after retries");
      });
      const at = await say(ctx, sessionId, "hi");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      const errors = ofKind(turn, "error");
      check(errors.length === 2 && errors.every((e) => e.retryable), `expected 2 retryable error events, got ${JSON.stringify(errors.map((e) => [e.code, e.retryable]))}`);
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
    },
  },
  {
    ...core,
    id: "harness/HARN-12/non-retryable-error",
    requirement: "HARN-12",
    title: "a non-retryable model error ends the turn with an error event and IDLE / ERROR",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, () => ({ kind: "error", status: 400, message: "bad request" }));
      const at = await say(ctx, sessionId, "hi");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      check(ofKind(turn, "error").some((e) => !e.retryable), "a non-retryable error event must be recorded");
      checkEqual(lastStatus(turn).stopReason, StopReason.ERROR, "stop reason");
    },
  },
  {
    ...core,
    id: "harness/HARN-13/list-harnesses",
    requirement: "HARN-13",
    title: "ListHarnesses shows the live brain of a session with its epoch and worker",
    async run(ctx) {
      // A reply slow enough that the brain still lives when listed, on a loaded target too.
      const { sessionId } = await scriptedSession(ctx, byStep([{ ...text("slow"), latency: { firstByteMs: 8000 } }]));
      const at = await say(ctx, sessionId, "hi");
      const wake = await ctx.rpc.unary(H.wake, { sessionId });
      await watch(ctx, sessionId, { afterSeq: at, withinMs: 15_000, until: (l) => l.events.some((e) => e.payload.case === "harnessStarted") });
      const list = await ctx.rpc.unary(H.listHarnesses, { sessionId });
      checkEqual(list.harnesses.length, 1, "live brains of the session");
      const h = list.harnesses[0]!;
      checkEqual(h.harnessId, wake.harnessId, "harness id");
      checkEqual(h.leaseEpoch, wake.leaseEpoch, "epoch");
      check(h.workerId !== "", "a running brain names its worker");
      await untilIdle(ctx, sessionId, at);
    },
  },
  {
    ...core,
    id: "harness/HARN-14/credentials-stay-with-the-brain",
    requirement: "HARN-14",
    title: "the model API key appears neither in the sandbox the brain uses nor in the log",
    async run(ctx) {
      const { sessionId } = await scriptedSession(ctx, byStep([toolCall("bash", { command: "env; cat /proc/*/environ 2>/dev/null | tr '\\\\0' '\\\\n'; true" }), text("done")]));
      const at = await say(ctx, sessionId, "show env");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn = await untilIdle(ctx, sessionId, at);
      const result = ofKind(turn, "toolResult")[0];
      check(result && !result.isError, "the env tool call must succeed");
      const key = ctx.harness!.apiKey;
      check(!result.output.includes(key), "the model API key is visible inside the sandbox");
      const everything = JSON.stringify((await readAll(ctx, sessionId)).map((e) => e.payload), (_, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      check(!everything.includes(key), "the model API key appears in the session log");
    },
  },
];
