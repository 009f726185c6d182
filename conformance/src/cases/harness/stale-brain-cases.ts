import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual } from "../../runner/assertions.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { readAll, S } from "../session/session-helpers.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, untilIdle } from "./harness-helpers.js";

const agentTexts = (events: Parameters<typeof ofKind>[0]) =>
  ofKind(events, "agentMessage").flatMap((m) => m.content.map((b) => (b.block.case === "text" ? b.block.value.text : "")));

/** Waits (bounded) until `done` holds, polling. */
async function until(ctx: Parameters<ConformanceCase["run"]>[0], what: string, done: () => boolean | Promise<boolean>, withinMs = 15_000): Promise<void> {
  const deadline = Date.now() + ctx.scaled(withinMs);
  while (!(await done())) {
    check(Date.now() < deadline, `${what} within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const staleBrainCases: ConformanceCase[] = [
  {
    id: "harness/HARN-17/stale-brain-stops-writing",
    requirement: "HARN-17",
    level: "MUST",
    feature: "harness.core",
    needs: ["harness"],
    timeoutMs: 60_000,
    title:
      "a brain still alive after its lease was taken away (while it waited for the model) writes nothing when the reply comes; only its successor's turn reaches the log",
    async run(ctx) {
      let releaseReply!: () => void;
      const held = new Promise<void>((resolve) => (releaseReply = resolve));
      let calls = 0;
      const { sessionId, model } = await scriptedSession(ctx, async () => {
        // The first brain's reply is held until its lease is gone; any later call is its successor's.
        if (++calls === 1) {
          await held;
          return text("reply of the stale brain");
        }
        return text("reply of the successor");
      });
      try {
        const at = await say(ctx, sessionId, "hi");
        const wake = await ctx.rpc.unary(H.wake, { sessionId });
        await until(ctx, "the brain asks the model", () => ctx.harness!.requests(model).length >= 1);
        // Take the lease away from the living brain: its epoch is released and the suite
        // holds the session (unless the server handed it to a successor in between).
        await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: wake.leaseEpoch });
        let mine: bigint | undefined;
        try {
          mine = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "conformance-usurper", ttl: { seconds: 30n } })).lease?.epoch;
        } catch (err) {
          if (!(err instanceof RpcFailure && err.reason === "LEASE_HELD")) throw err;
          ctx.note("the server handed the session to a successor before the suite could hold it");
        }
        releaseReply();
        // The stale brain now has its reply; give it the time to (wrongly) write it.
        await new Promise((r) => setTimeout(r, ctx.scaled(1500)));
        const during = await readAll(ctx, sessionId);
        check(!agentTexts(during).includes("reply of the stale brain"), "the brain whose lease was taken away wrote its reply");
        if (mine !== undefined) {
          checkEqual((await ctx.rpc.unary(S.getSession, { sessionId })).session?.lease?.epoch, mine, "the live lease (the suite's)");
          await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: mine });
          await ctx.rpc.unary(H.wake, { sessionId });
        }
        const turn = await untilIdle(ctx, sessionId, at, 30_000);
        const said = agentTexts(await readAll(ctx, sessionId));
        check(!said.includes("reply of the stale brain"), `the stale brain's reply reached the log: ${JSON.stringify(said)}`);
        checkEqual(said.filter((t) => t === "reply of the successor").length, 1, "replies of the successor");
        checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason of the successor's turn");
        check(lastStatus(turn).status === SessionStatus.IDLE, "the session ends IDLE");
      } finally {
        releaseReply();
      }
    },
  },
];
