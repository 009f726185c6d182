import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { CaseSkipped, check, checkEqual } from "../../runner/assertions.js";
import { watch } from "../watch.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, toolCall, untilIdle } from "./harness-helpers.js";

const hasEvent = (kind: string) => (l: { events: { payload: { case: string | undefined } }[] }) => l.events.some((e) => e.payload.case === kind);

export const faultCases: ConformanceCase[] = [
  {
    id: "harness/HARN-5/brain-killed-mid-tool",
    requirement: "HARN-5",
    level: "MUST",
    feature: "harness.auto_rewake",
    needs: ["harness"],
    exclusive: true,
    title: "SIGKILL of the worker while a tool runs: the server re-wakes the session, the successor resumes and the tool runs once (HARN-6)",
    timeoutMs: 150_000,
    async run(ctx) {
      const fixture = ctx.harness!;
      if (!fixture.startWorker) throw new CaseSkipped("no runner-controlled worker (run with --worker-cmd)");
      await fixture.startWorker(ctx.uniqueId("worker"));
      const { sessionId } = await scriptedSession(ctx, byStep([toolCall("bash", { command: "echo ran >> runs.txt; sleep 3; wc -l < runs.txt" }), text("done")]));
      const at = await say(ctx, sessionId, "run it once");
      const wake = await ctx.rpc.unary(H.wake, { sessionId });
      const early = await watch(ctx, sessionId, { afterSeq: at, withinMs: 30_000, until: hasEvent("sandboxProvisioned") });
      const sandboxId = ofKind(early.events, "sandboxProvisioned")[0]!.sandboxId;
      // Kill only once the tool is really running in the sandbox (its first line is written).
      const deadline = Date.now() + ctx.scaled(20_000);
      for (;;) {
        const probe = await ctx.rpc.unary(SandboxService.method.execute, { sandboxId, name: "bash", input: { command: "cat runs.txt 2>/dev/null; true" } as never });
        if (probe.output.includes("ran")) break;
        check(Date.now() < deadline, "the tool never started in the sandbox");
        await new Promise((r) => setTimeout(r, 50));
      }
      const brain = (await ctx.rpc.unary(H.listHarnesses, { sessionId })).harnesses[0];
      check(brain?.harnessId === wake.harnessId, "ListHarnesses must show the woken brain");
      if (!(await fixture.killWorker(brain.workerId))) throw new CaseSkipped(`the brain runs on worker ${brain.workerId}, which the runner did not start`);
      await fixture.startWorker(ctx.uniqueId("worker"));
      const turn = await untilIdle(ctx, sessionId, at, 120_000);
      const starts = ofKind(turn, "harnessStarted");
      check(starts.length >= 2, `a successor must start after the kill (harness_started events: ${starts.length})`);
      check(starts[1]!.leaseEpoch > starts[0]!.leaseEpoch && starts[1]!.resumedAfterSeq > 0n, "the successor holds a greater epoch and resumes after the log's head");
      const use = ofKind(turn, "toolUse")[0]!;
      const results = ofKind(turn, "toolResult").filter((r) => r.toolUseId === use.toolUseId);
      checkEqual(results.length, 1, "tool_result events for the interrupted tool_use");
      checkEqual(results[0]!.output.trim(), "1", "times the tool ran (output of wc -l)");
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
    },
  },
  {
    id: "harness/HARN-8/lost-sandbox-replaced",
    requirement: "HARN-8",
    level: "MUST",
    feature: "harness.core",
    needs: ["harness"],
    title: "a sandbox destroyed mid-session becomes an is_error tool_result, and the next tool call provisions a replacement",
    timeoutMs: 90_000,
    async run(ctx) {
      const { sessionId } = await scriptedSession(
        ctx,
        byStep([
          toolCall("bash", { command: "echo one" }),
          { ...toolCall("bash", { command: "echo two" }), latency: { firstByteMs: 2000 } },
          toolCall("bash", { command: "echo three" }),
          text("done"),
        ]),
      );
      const at = await say(ctx, sessionId, "go");
      await ctx.rpc.unary(H.wake, { sessionId });
      const early = await watch(ctx, sessionId, { afterSeq: at, withinMs: 30_000, until: hasEvent("toolResult") });
      const first = ofKind(early.events, "sandboxProvisioned")[0];
      check(first, "no sandbox_provisioned before the first tool_result");
      await ctx.rpc.unary(SandboxService.method.destroySandbox, { sandboxId: first.sandboxId });
      const turn = await untilIdle(ctx, sessionId, at, 60_000);
      const results = ofKind(turn, "toolResult");
      checkEqual(results.length, 3, "tool results");
      check(!results[0]!.isError && results[1]!.isError && !results[2]!.isError, `is_error of the three results: ${results.map((r) => r.isError).join(", ")}`);
      check(results[2]!.output.includes("three"), "the third call must run in the replacement");
      const provisioned = ofKind(turn, "sandboxProvisioned");
      checkEqual(provisioned.length, 2, "sandbox_provisioned events");
      checkEqual(provisioned[1]!.replacesSandboxId, first.sandboxId, "replaces_sandbox_id of the replacement");
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason (a dead sandbox never ends a session)");
    },
  },
];
