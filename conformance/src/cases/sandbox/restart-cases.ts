import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";
import { restart, whenBack } from "../restart-helpers.js";
import { bash, X } from "./sandbox-helpers.js";

export const sandboxRestartCases: ConformanceCase[] = [
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
