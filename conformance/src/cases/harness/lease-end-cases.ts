import { LeaseEndReason } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { CaseSkipped, check, checkEqual } from "../../runner/assertions.js";
import { watch } from "../watch.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, toolCall, untilIdle } from "./harness-helpers.js";

export const leaseEndCases: ConformanceCase[] = [
  {
    id: "harness/HARN-24/rescheduling-names-the-lost-brain",
    requirement: "HARN-24",
    level: "MUST",
    feature: "harness.auto_rewake",
    needs: ["harness"],
    exclusive: true,
    title: "after a brain is killed mid-turn, the RESCHEDULING status before its successor names it (harness id, epoch, worker) and says its lease expired",
    timeoutMs: 120_000,
    async run(ctx) {
      const fixture = ctx.harness!;
      if (!fixture.startWorker) throw new CaseSkipped("no runner-controlled worker (run with --worker-cmd)");
      await fixture.startWorker(ctx.uniqueId("worker"));
      const { sessionId } = await scriptedSession(ctx, byStep([toolCall("bash", { command: "sleep 2; echo slept" }), text("done")]));
      const at = await say(ctx, sessionId, "sleep a little");
      const wake = await ctx.rpc.unary(H.wake, { sessionId });
      await watch(ctx, sessionId, { afterSeq: at, withinMs: 30_000, until: (l) => l.events.some((e) => e.payload.case === "toolUse") });
      const brain = (await ctx.rpc.unary(H.listHarnesses, { sessionId })).harnesses[0];
      check(brain?.harnessId === wake.harnessId, "ListHarnesses must show the woken brain");
      if (!(await fixture.killWorker(brain.workerId))) throw new CaseSkipped(`the brain runs on worker ${brain.workerId}, which the runner did not start`);
      await fixture.startWorker(ctx.uniqueId("worker"));
      const turn = await untilIdle(ctx, sessionId, at, 90_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
      const kinds = turn.map((e) => (e.payload.case === "statusChanged" ? `status:${SessionStatus[e.payload.value.status]}` : e.payload.case));
      const rescheduling = turn.findIndex((e) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.RESCHEDULING);
      check(rescheduling >= 0, `no status_changed RESCHEDULING after the kill; the turn was: ${kinds.join(", ")}`);
      const successor = turn.findIndex((e, i) => i > rescheduling && e.payload.case === "harnessStarted");
      check(successor > rescheduling, "the RESCHEDULING status must come before the successor's harness_started");
      const status = ofKind([turn[rescheduling]!], "statusChanged")[0]!;
      const ended = status.endedLease;
      check(ended, "status_changed RESCHEDULING must carry ended_lease");
      checkEqual(ended.harnessId, wake.harnessId, "ended_lease.harness_id");
      checkEqual(ended.leaseEpoch, wake.leaseEpoch, "ended_lease.lease_epoch");
      checkEqual(ended.workerId, brain.workerId, "ended_lease.worker_id");
      checkEqual(LeaseEndReason[ended.reason], LeaseEndReason[LeaseEndReason.EXPIRED], "ended_lease.reason");
    },
  },
];
