import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual } from "../../runner/assertions.js";
import { readAll } from "../session/session-helpers.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, toolCall, untilIdle } from "./harness-helpers.js";

export const handsCases: ConformanceCase[] = [
  {
    id: "harness/HARN-19/sandbox-found-in-the-log",
    requirement: "HARN-19",
    level: "MUST",
    feature: "harness.core",
    needs: ["harness"],
    timeoutMs: 60_000,
    title: "the brain of a second turn finds the session's sandbox in the log: its tool runs there (a file of the first turn is still there) and no second sandbox is provisioned",
    async run(ctx) {
      const { sessionId } = await scriptedSession(
        ctx,
        byStep([toolCall("bash", { command: "echo kept-across-turns > note.txt" }), text("noted"), toolCall("bash", { command: "cat note.txt" }), text("read")]),
      );
      const first = await say(ctx, sessionId, "write a note");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn1 = await untilIdle(ctx, sessionId, first);
      checkEqual(lastStatus(turn1).stopReason, StopReason.END_TURN, "stop reason of the first turn");
      const second = await say(ctx, sessionId, "read it back");
      await ctx.rpc.unary(H.wake, { sessionId });
      const turn2 = await untilIdle(ctx, sessionId, second);
      const log = await readAll(ctx, sessionId);
      const provisioned = ofKind(log, "sandboxProvisioned");
      checkEqual(provisioned.length, 1, "sandbox_provisioned events over both turns");
      const read = ofKind(turn2, "toolResult")[0];
      check(read && !read.isError && read.output.includes("kept-across-turns"), `the second turn's tool must run in the first turn's sandbox, got ${JSON.stringify(read?.output)}`);
      checkEqual(read.sandboxId, provisioned[0]!.sandboxId, "sandbox of the second turn's tool result");
    },
  },
];
