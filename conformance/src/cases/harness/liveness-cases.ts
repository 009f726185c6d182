import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { CaseFailure, check, checkEqual } from "../../runner/assertions.js";
import { restart, whenBack } from "../restart-helpers.js";
import { watch } from "../watch.js";
import { H, ofKind, say, scriptedSession, text, toolCall } from "./harness-helpers.js";

/** More sessions than one worker runs at once, so that some Wakes are queued when the target restarts. */
const SESSIONS = 10;

/** Resolves once any of the sessions has a tool call in its log after `at`; the other watches are then cancelled. */
async function firstToolCall(ctx: CaseContext, sessions: readonly { sessionId: string; at: number }[]): Promise<void> {
  const found = new AbortController();
  const scoped: CaseContext = { ...ctx, signal: AbortSignal.any([ctx.signal, found.signal]) };
  try {
    await Promise.any(
      sessions.map(({ sessionId, at }) =>
        watch(scoped, sessionId, { afterSeq: at, withinMs: 30_000, until: (l) => l.events.some((e) => e.payload.case === "toolUse") }),
      ),
    );
  } catch (err) {
    const first = err instanceof AggregateError ? err.errors[0] : err;
    throw new CaseFailure(`no session woken had a tool call in its log: ${first instanceof Error ? first.message : String(first)}`);
  } finally {
    found.abort();
  }
}

export const livenessCases: ConformanceCase[] = [
  {
    ...restart,
    id: "harness/HARN-27/many-sessions-resume-after-restart",
    requirement: "HARN-27",
    feature: "harness.auto_rewake",
    needs: ["harness", "restart"],
    timeoutMs: 180_000,
    title: `${SESSIONS} sessions woken at once, the target restarted while some brains work and the other Wakes wait for a worker: every session runs again and ends its turn, each tool call with one result`,
    async run(ctx) {
      const fixture = ctx.harness!;
      if (fixture.startWorker) await fixture.startWorker(ctx.uniqueId("worker"));
      const script = byStep([toolCall("bash", { command: "echo ran >> runs.txt; sleep 1" }), text("done")]);
      const sessions: { sessionId: string; at: number }[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const { sessionId } = await scriptedSession(ctx, script);
        sessions.push({ sessionId, at: await say(ctx, sessionId, `session ${i}`) });
      }
      const woken = await Promise.all(sessions.map((s) => ctx.rpc.unary(H.wake, { sessionId: s.sessionId })));
      check(woken.every((w) => w.harnessId !== ""), "every Wake must name the brain it started");
      // Restart as soon as the first brain is at work (a tool call is in some log): the other
      // brains are then mid-turn, and on a target that runs fewer brains than there are
      // sessions the remaining Wakes are still queued.
      await firstToolCall(ctx, sessions);
      await ctx.restartTarget!();
      const unfinished: string[] = [];
      const logs = await Promise.all(
        sessions.map(({ sessionId, at }) =>
          whenBack(ctx, () =>
            watch(ctx, sessionId, {
              afterSeq: at,
              withinMs: 60_000,
              until: (l) => l.events.some((e) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.IDLE),
            }),
          ).catch((err: unknown) => {
            unfinished.push(`${sessionId} (${err instanceof Error ? err.message : String(err)})`);
            return undefined;
          }),
        ),
      );
      logs.forEach((log, i) => {
        if (!log) return;
        const sessionId = sessions[i]!.sessionId;
        const idle = ofKind(log.events, "statusChanged").find((s) => s.status === SessionStatus.IDLE)!;
        checkEqual(idle.stopReason, StopReason.END_TURN, `stop reason of ${sessionId}`);
        for (const use of ofKind(log.events, "toolUse")) {
          const results = ofKind(log.events, "toolResult").filter((r) => r.toolUseId === use.toolUseId);
          checkEqual(results.length, 1, `tool_result events of ${sessionId}'s tool_use ${use.toolUseId}`);
        }
      });
      if (unfinished.length > 0) {
        throw new CaseFailure(`${unfinished.length} of ${SESSIONS} sessions woken before the restart never ended their turn after it (no brain took them again): ${unfinished.join("; ")}`);
      }
    },
  },
];
