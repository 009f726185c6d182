import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { CaseFailure, check, checkEqual } from "../../runner/assertions.js";
import { restart, whenBack } from "../restart-helpers.js";
import { watch } from "../watch.js";
import { H, ofKind, say, scriptedSession, text, toolCall } from "./harness-helpers.js";

/** More sessions than one worker runs at once, so that some Wakes are queued when the target restarts. */
const SESSIONS = 10;

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
      // Restart once a brain is at work (its tool call is in the log): others are then mid-turn or queued.
      await watch(ctx, sessions[0]!.sessionId, { afterSeq: sessions[0]!.at, withinMs: 30_000, until: (l) => l.events.some((e) => e.payload.case === "toolUse") });
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
