import { once } from "node:events";
import { RunnerConnection } from "./runner-connection.js";
import { spawnChild, type SpawnedChild } from "./spawner.js";
import type { EnvironmentRef, SandboxEnvironment } from "./backend.js";

/** How long a runner gets to end its commands after its stdin closes, before SIGKILL. */
const GRACEFUL_EXIT_MS = 1000;

/**
 * A sandbox whose tool runner is a child of the server (bubblewrap and process
 * backends). It ends with the server: the runner exits on EOF of its stdin.
 */
export async function startChildEnvironment(
  sandboxId: string,
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  onExit: () => Promise<void> = async () => undefined,
  /** Called right after the spawn, with fd 3 of the child open as a pipe when `pipes.info`. */
  onSpawned?: (child: SpawnedChild, runner: RunnerConnection) => void,
  /** info: fd 3 is a pipe the child writes; input: fd 4 is a pipe that carries these bytes, then EOF. */
  pipes: { info?: boolean; input?: Buffer } = {},
): Promise<SandboxEnvironment> {
  // The spawner process forks and execs, so this event loop never waits for it.
  const child = await spawnChild(command, args, { env, cwd, pipes: pipes.input ? 5 : pipes.info ? 4 : 3, ...(pipes.input ? { input: pipes.input } : {}) });
  // A pipe whose other end closed early: the child's exit says why.
  for (const pipe of child.stdio) pipe.on("error", () => undefined);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const runner = new RunnerConnection(sandboxId, child.stdin!, child.stdout!);
  onSpawned?.(child, runner);
  const exited = once(child, "exit").catch(() => undefined);
  child.on("exit", (code, signal) => {
    runner.close(`the sandbox's environment exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ""}`);
    void onExit();
  });
  const env_: SandboxEnvironment = {
    runner,
    ref: { pid: String(child.pid) } satisfies EnvironmentRef,
    destroy: () => stopChild(child, runner),
    detach: () => stopChild(child, runner),
  };
  try {
    await runner.ready;
  } catch (err) {
    await stopChild(child, runner);
    await exited;
    throw new Error(`${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ""}`, { cause: err });
  }
  return env_;
}

async function stopChild(child: SpawnedChild, runner: RunnerConnection): Promise<void> {
  runner.close("the sandbox was destroyed");
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), GRACEFUL_EXIT_MS);
  await exited;
  clearTimeout(timer);
}
