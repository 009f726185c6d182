import { readdirSync, readFileSync } from "node:fs";

/** The parent pid of a live process, from /proc (undefined once it is gone). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 4, after the command name in parentheses (which may itself contain spaces).
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** The command line of a process, arguments joined by spaces ("" once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Pids of the live direct children of `pid`, optionally only those whose command line matches. */
export function childPids(pid: number, match?: RegExp): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((p) => parentPid(p) === pid && (!match || match.test(commandLine(p))));
}

/** Whether a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Resolves once none of the pids is alive, or rejects after `timeoutMs` naming those left. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isAlive);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${timeoutMs} ms: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM (a clean shutdown), then SIGKILL if it has not exited within `timeoutMs`; resolves once it is gone. */
export async function stopChild(child: import("node:child_process").ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const force = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await gone;
  clearTimeout(force);
}
