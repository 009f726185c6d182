import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { newSession, readAll, S } from "./session-helpers.js";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { bash, X } from "../sandbox/sandbox-helpers.js";

const restart = { level: "MUST", needs: ["restart"], exclusive: true, timeoutMs: 90_000 } as const;

/** Retries a call while the restarted target comes back (bounded). */
async function whenBack<T>(ctx: Parameters<ConformanceCase["run"]>[0], call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ctx.scaled(30_000);
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if ((err as { codeName?: string }).codeName !== "UNAVAILABLE" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const durabilityCases: ConformanceCase[] = [
  {
    ...restart,
    feature: "session.core",
    id: "session/SESS-5/acked-appends-survive-kill",
    requirement: "SESS-5",
    title: "every acknowledged append (60 concurrent singles and a batch) survives a kill of the server, with its seq and id",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const singles = await Promise.all(Array.from({ length: 60 }, (_, i) => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`k${i}`) })));
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("b1"), userText("b2")] });
      const acked = [...singles.map((r) => r.event!), ...batch.events].sort((a, b) => Number(a.seq - b.seq));
      await ctx.restartTarget!();
      const stored = await whenBack(ctx, () => readAll(ctx, sessionId));
      checkDeepEqual(stored.map((e) => [e.seq, e.id]), acked.map((e) => [e.seq, e.id]), "seq and id of every acknowledged event after the restart");
      const next = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("after") });
      checkEqual(next.event?.seq, 63, "the next seq after the restart");
    },
  },
  {
    ...restart,
    feature: "session.core",
    id: "session/SESS-3/keys-survive-restart",
    requirement: "SESS-3",
    title: "an idempotency key is remembered across a restart: the retry is a duplicate of the original",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key });
      await ctx.restartTarget!();
      const again = await whenBack(ctx, () => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("once"), idempotencyKey: key }));
      check(again.duplicate, "the retry after the restart must be a duplicate");
      checkEqual(again.event?.seq, first.event?.seq, "seq of the retry");
      checkEqual((await readAll(ctx, sessionId)).length, 1, "events in the log");
    },
  },
  {
    ...restart,
    feature: "session.leases",
    id: "session/SESS-10/epochs-grow-across-restart",
    requirement: "SESS-10",
    title: "a lease epoch is never reused after a restart",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "before" })).lease!;
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      await ctx.restartTarget!();
      const b = (await whenBack(ctx, () => ctx.rpc.unary(S.acquireLease, { sessionId, holder: "after" }))).lease!;
      check(b.epoch > a.epoch, `the epoch after the restart (${b.epoch}) must exceed ${a.epoch}`);
    },
  },
  {
    ...restart,
    feature: "sandbox.core",
    id: "sandbox/SBX-15/sandboxes-after-restart",
    requirement: "SBX-15",
    title: "after a kill and restart, a sandbox is re-attached (READY, files intact) or reported LOST/DESTROYED, and can be destroyed",
    async run(ctx) {
      const sandboxId = (await ctx.rpc.unary(X.provision, {}, { timeoutMs: ctx.scaled(60_000) })).sandbox!.sandboxId;
      await bash(ctx, sandboxId, "echo kept > kept.txt");
      await ctx.restartTarget!();
      const state = (await whenBack(ctx, () => ctx.rpc.unary(X.getSandbox, { sandboxId }))).sandbox?.state;
      if (state === SandboxState.READY) {
        const res = await bash(ctx, sandboxId, "cat kept.txt");
        check(res.output.includes("kept"), "a re-attached sandbox keeps its workspace");
      } else {
        check(state === SandboxState.LOST || state === SandboxState.DESTROYED, `a sandbox not re-attached must be LOST or DESTROYED, got state ${state}`);
        let code = "";
        try {
          await bash(ctx, sandboxId, "true");
        } catch (err) {
          code = `${(err as { codeName?: string }).codeName}/${(err as { reason?: string }).reason}`;
        }
        check(code === "UNAVAILABLE/SANDBOX_LOST" || code === "NOT_FOUND/SANDBOX_NOT_FOUND", `Execute on a sandbox that did not survive: got ${code || "success"}`);
      }
      await ctx.rpc.unary(X.destroySandbox, { sandboxId });
    },
  },
];
