import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import type { WorkerHandle } from "./harness-fixture.js";

export interface LaunchedTarget {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Launches the target with `sh -c <command>` and the given extra environment, and waits
 * (bounded) for the readiness line `OMA_LISTENING <url>` on its stdout.
 */
export async function launchTarget(command: string, env: Record<string, string>, waitMs: number): Promise<LaunchedTarget> {
  const child = spawn("sh", ["-c", command], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"], detached: true });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the target did not print "OMA_LISTENING <url>" within ${waitMs} ms`)), waitMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the target exited (code ${code}) before it printed OMA_LISTENING`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const m = /^OMA_LISTENING (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  }).catch(async (err: unknown) => {
    await killGroup(child);
    throw err;
  });
  return { url, pid: child.pid!, stop: () => killGroup(child) };
}

/** Starts a worker process (`sh -c`), for fault injection; `{target}` and `{id}` in the command are replaced. */
export async function startWorkerProcess(command: string, target: string, workerId: string, env: Record<string, string>): Promise<WorkerHandle> {
  const child = spawn("sh", ["-c", command.replaceAll("{target}", target).replaceAll("{id}", workerId)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  return { workerId, pid: child.pid!, kill: () => killGroup(child) };
}

/** SIGKILLs the child's process group (sh and everything it started) and waits for the exit. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
