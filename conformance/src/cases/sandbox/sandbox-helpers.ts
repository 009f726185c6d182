import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SandboxResourcesSchema } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { SandboxService, type ExecuteResponse } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";

export const X = SandboxService.method;

export type Resources = MessageInitShape<typeof SandboxResourcesSchema>;

/**
 * Provisions a sandbox for one case and destroys it when the case ends (also when it
 * fails), so a run leaves nothing behind.
 */
export async function withSandbox<T>(ctx: CaseContext, body: (sandboxId: string) => Promise<T>, resources: Resources = {}): Promise<T> {
  const res = await ctx.rpc.unary(X.provision, { resources, labels: { "conf.case": "1" } }, { timeoutMs: ctx.scaled(60_000) });
  const sandboxId = res.sandbox?.sandboxId ?? "";
  check(sandboxId !== "", "Provision returned no sandbox id");
  try {
    return await body(sandboxId);
  } finally {
    await ctx.rpc.unary(X.destroySandbox, { sandboxId }, { timeoutMs: ctx.scaled(30_000) }).catch(() => undefined);
  }
}

export interface ExecOptions {
  readonly timeoutSeconds?: number;
  readonly idempotencyKey?: string;
}

/** What a call's deadline leaves past the tool's own timeout, for the target to answer `timed_out`. */
const ANSWER_GRACE_SECONDS = 30;

/**
 * Runs a tool; the input is plain JSON (the tool's schema from ListTools). The call waits
 * 60 s, or the tool's timeout and 30 s more when that is longer, so a tool killed at its
 * timeout comes back as a result (`timed_out`) rather than as the call's own DEADLINE_EXCEEDED.
 */
export function exec(ctx: CaseContext, sandboxId: string, name: string, input: Record<string, unknown>, o: ExecOptions = {}): Promise<ExecuteResponse> {
  return ctx.rpc.unary(
    X.execute,
    {
      sandboxId,
      name,
      input: input as never,
      ...(o.timeoutSeconds === undefined ? {} : { timeout: { seconds: BigInt(o.timeoutSeconds) } }),
      ...(o.idempotencyKey === undefined ? {} : { idempotencyKey: o.idempotencyKey }),
    },
    { timeoutMs: ctx.scaled(Math.max(60, (o.timeoutSeconds ?? 0) + ANSWER_GRACE_SECONDS) * 1000) },
  );
}

/** Runs a bash command and returns the result. */
export function bash(ctx: CaseContext, sandboxId: string, command: string, o: ExecOptions = {}): Promise<ExecuteResponse> {
  return exec(ctx, sandboxId, "bash", { command }, o);
}

/** True when the target's default sandbox backend declares itself unisolated (SEC-2). */
export function defaultBackendIsUnisolated(ctx: CaseContext): boolean {
  return (ctx.info.sandboxBackends[0] ?? "") === "process";
}
