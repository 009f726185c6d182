import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { promisify } from "node:util";
import { commandLine } from "@oma/server/dist/testing/process-tree.js";
import { LABEL_SANDBOX } from "@oma/server/dist/sandbox/docker-backend.js";
import type { Fault } from "./fault.js";

const run = promisify(execFile);

/**
 * Kills the sandbox of a session with a turn in flight from outside: `docker kill` of its
 * container, or SIGKILL of its bubblewrap process. The brain must turn this into a tool
 * error and a fresh sandbox (HARN-8), never a dead session.
 */
export const killSandbox: Fault = async (ctx) => {
  const candidates = ctx.workload.runs
    .filter((r) => r.outstanding)
    .map((r) => ({ run: r, sandboxId: lastSandbox(r.watched) }))
    .filter((c): c is { run: typeof c.run; sandboxId: string } => c.sandboxId !== undefined);
  if (candidates.length === 0) return { detail: "no sandbox in use", affected: [] };
  const { run: target, sandboxId } = ctx.random.pick(candidates);
  if (target.backend === "docker") {
    const { stdout } = await run("docker", ["ps", "-q", "--filter", `label=${LABEL_SANDBOX}=${sandboxId}`]);
    const ids = stdout.split("\n").filter(Boolean);
    if (ids.length > 0) await run("docker", ["kill", ...ids]).catch(() => undefined);
    return { detail: `docker kill of ${sandboxId} (session ${target.sessionId})`, affected: [target.sessionId] };
  }
  const pids = await bwrapProcesses(sandboxId);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  return { detail: `SIGKILL of ${target.backend} sandbox ${sandboxId} (${pids.length} processes, session ${target.sessionId})`, affected: [target.sessionId] };
};

function lastSandbox(events: readonly { payload: { case?: string; value?: unknown } }[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const p = events[i]!.payload;
    if (p.case === "sandboxProvisioned") return (p.value as { sandboxId: string }).sandboxId;
  }
  return undefined;
}

/** The bubblewrap processes of a sandbox: their command line names it. */
async function bwrapProcesses(sandboxId: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const cmd = commandLine(pid);
    if (cmd.startsWith("bwrap ") || cmd.includes("/bwrap ")) {
      if (cmd.includes(sandboxId)) pids.push(pid);
    }
  }
  return pids;
}
