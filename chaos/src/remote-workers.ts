import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { CLI_PATH } from "@oma/server/dist/testing/server-process.js";

export interface WorkerHandle {
  readonly workerId: string;
  readonly child: ChildProcess;
}

/**
 * Workers "on other machines": `oma worker` processes started by hand (no IPC channel to
 * the server, so they outlive it and reconnect) that reach the server through the TCP
 * proxy. Like an operator's supervisor, this starts a killed one again.
 */
export class RemoteWorkers {
  readonly #serverUrl: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #args: readonly string[];
  readonly #workers = new Map<string, WorkerHandle>();
  #stopped = false;
  restarts = 0;

  constructor(options: { serverUrl: string; env: NodeJS.ProcessEnv; args: readonly string[] }) {
    this.#serverUrl = options.serverUrl;
    this.#env = options.env;
    this.#args = options.args;
  }

  get all(): WorkerHandle[] {
    return [...this.#workers.values()].filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  async start(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.#launch(id)));
  }

  /** SIGTERM to every worker (their brains hand their sessions on), and wait for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(
      [...this.#workers.values()].map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        const exited = new Promise((r) => w.child.once("exit", r));
        w.child.kill("SIGTERM");
        const force = setTimeout(() => w.child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(force);
      }),
    );
  }

  #launch(workerId: string): Promise<void> {
    const child = spawn(process.execPath, [CLI_PATH, "worker", "--server", this.#serverUrl, "--id", workerId, ...this.#args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: this.#env,
    });
    this.#workers.set(workerId, { workerId, child });
    child.once("exit", () => {
      if (this.#stopped || this.#workers.get(workerId)?.child !== child) return;
      this.restarts++;
      setTimeout(() => void this.#launch(workerId).catch(() => undefined), 200);
    });
    // Ready once connected; a worker that cannot connect yet (server away) keeps trying by itself.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("OMA_WORKER_CONNECTED")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
