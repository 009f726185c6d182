import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Logger } from "../logger.js";

/** Restart backoff of a local worker that died: doubles from 500 ms up to 30 s. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long resets the backoff. */
const HEALTHY_AFTER_MS = 10_000;

export interface WorkerPool {
  close(): Promise<void>;
}

/**
 * The local brain workers `oma serve --workers N` starts: separate processes running
 * `oma worker` against this server's own URL, restarted when they die. They are plain
 * clients of the public API, exactly like workers on other machines, except that they
 * die with this process. `close` stops them (their brains hand their sessions on) and
 * waits until they have exited.
 */
export function startWorkerPool(options: { serverUrl: string; token?: string; count: number; logger: Logger; extraArgs?: readonly string[] }): WorkerPool {
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  const children = new Set<ChildProcess>();
  let closing = false;
  const log = options.logger;

  const launch = (index: number, backoff: number) => {
    if (closing) return;
    const id = `local-${process.pid}-${index}`;
    // The IPC channel ties the worker's life to this process: when it closes, even because
    // this process was SIGKILLed, the worker stops (Node has no parent-death signal).
    const child = spawn(process.execPath, [main, "worker", "--server", options.serverUrl, "--id", id, ...(options.extraArgs ?? [])], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      // The token goes in the environment, never on the command line (which every user can read).
      env: { ...process.env, OMA_TOKEN: options.token ?? "" },
    });
    child.channel?.unref();
    const started = Date.now();
    children.add(child);
    child.once("exit", (code, signal) => {
      children.delete(child);
      if (closing) return;
      const next = Date.now() - started > HEALTHY_AFTER_MS ? RESTART_MIN_MS : Math.min(RESTART_MAX_MS, backoff * 2);
      log.warn({ workerId: id, code, signal, restartInMs: next }, "local worker exited; restarting");
      setTimeout(() => launch(index, next), next).unref();
    });
  };

  for (let i = 0; i < options.count; i++) launch(i, RESTART_MIN_MS / 2);
  log.info({ count: options.count }, "started local workers");
  return {
    async close() {
      closing = true;
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
              setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
            }),
        ),
      );
    },
  };
}
