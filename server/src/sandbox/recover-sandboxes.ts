import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SandboxState, type Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { SandboxEnvironment } from "./backend.js";
import type { ExecResult } from "./execution.js";
import { SANDBOX_ID } from "./sandbox-ids.js";
import type { ManagerDeps } from "./sandbox-manager.js";
import { removeSandboxDir } from "./workspace-disk.js";

/** How recovery hands each stored sandbox to the manager. */
export interface RecoveryTarget {
  add(sandbox: Sandbox, workspaceDir: string): { attach(env: SandboxEnvironment): Promise<void>; lost(reason: string): Promise<void> };
}

/**
 * After a start (or a crash), puts the server back in charge of everything it left
 * (SBX-15): every stored READY sandbox is re-attached or marked LOST, keyed calls that were
 * running get an error result, workspaces without a live sandbox are removed, and
 * environments of this server instance that it has no record of are reaped.
 */
export async function recoverSandboxes(deps: ManagerDeps, target: RecoveryTarget): Promise<void> {
  const { store, backends, log } = deps;
  const keep = new Set<string>();
  for await (const { sandbox, env } of store.allSandboxes()) {
    const handle = target.add(sandbox, env?.workspaceDir ?? "");
    if (sandbox.state !== SandboxState.READY) continue;
    const backend = backends.get(sandbox.backend);
    const attached = backend && env ? await backend.reattach(sandbox.sandboxId, env.ref, env.workspaceDir).catch(() => undefined) : undefined;
    if (attached) {
      await handle.attach(attached);
      keep.add(sandbox.sandboxId);
      log.info({ sandboxId: sandbox.sandboxId, backend: sandbox.backend }, "re-attached sandbox");
    } else {
      await handle.lost("its environment did not survive a server restart");
      if (env?.workspaceDir) await removeSandboxDir(dirname(env.workspaceDir));
    }
  }
  for await (const { sandboxId, key, record } of store.unfinishedExecutions()) {
    const result: ExecResult = { output: "[the server restarted while this call ran; it may or may not have completed]", isError: true, exitCode: -1, truncated: false, durationMs: 0, timedOut: false };
    await store.putExecution(sandboxId, key, { ...record, result });
  }
  // Workspaces of sandboxes that were never recorded (a crash mid-Provision) or are gone.
  for (const name of await readdir(deps.workspaceRoot).catch(() => [] as string[])) {
    if (SANDBOX_ID.test(name) && !keep.has(name)) await removeSandboxDir(join(deps.workspaceRoot, name));
  }
  for (const backend of backends.values()) {
    const n = await backend.reapOrphans(deps.instanceId, keep).catch(() => 0);
    if (n > 0) log.warn({ backend: backend.name, reaped: n }, "reaped orphaned sandbox environments");
  }
}
