import { readFile } from "node:fs/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { startServerProcess, type ServerProcess } from "@oma/server/dist/testing/server-process.js";

/** How often the supervisor asks grpc.health.v1 whether the server still serves. */
const HEALTH_POLL_MS = 500;
/** Restart attempts wait this long after a server that failed to start, doubling. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/** A stretch of time the server did not serve (down, paused, or NOT_SERVING), ms since the epoch. */
export interface Outage {
  readonly from: number;
  to: number | undefined;
  readonly why: string;
}

/**
 * What an operator's supervisor does for `oma serve`: starts it on a fixed port and data
 * directory, starts it again when it dies, and restarts it when grpc.health.v1 says
 * NOT_SERVING (its storage failed). It keeps the outages, so that liveness is measured
 * only while a server serves, and samples the server's memory (VmRSS) every poll.
 */
export class ServerSupervisor {
  readonly #dataDir: string;
  readonly #port: number;
  readonly #args: readonly string[];
  readonly #env: NodeJS.ProcessEnv;
  #current: ServerProcess | undefined;
  #timer: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;
  #stopped = false;
  readonly outages: Outage[] = [];
  readonly rssSamples: { at: number; pid: number; bytes: number }[] = [];
  restarts = 0;

  constructor(options: { dataDir: string; port: number; args: readonly string[]; env: NodeJS.ProcessEnv }) {
    this.#dataDir = options.dataDir;
    this.#port = options.port;
    this.#args = options.args;
    this.#env = options.env;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get pid(): number | undefined {
    return this.#current?.pid;
  }

  /** The admin token the server wrote on its first start. */
  async adminToken(): Promise<string> {
    return (await readFile(`${this.#dataDir}/admin.token`, "utf8")).trim();
  }

  async start(): Promise<void> {
    this.#current = await startServerProcess(this.#dataDir, { port: this.#port, args: [...this.#args], env: this.#env, timeoutMs: 60_000 });
    this.#watch(this.#current);
    this.#timer = setInterval(() => void this.#poll(), HEALTH_POLL_MS);
  }

  /** Marks an outage that a fault is about to cause (a pause, a kill); `end` closes it. */
  outage(why: string): { end(): void } {
    const o: Outage = { from: Date.now(), to: undefined, why };
    this.outages.push(o);
    return { end: () => (o.to ??= Date.now()) };
  }

  /** SIGKILL, then start again on the same data (restarts are what a supervisor is for). */
  async kill(): Promise<void> {
    const o = this.outage("killed");
    const current = this.#current;
    this.#current = undefined;
    await current?.kill();
    await this.#restart();
    o.end();
  }

  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    if (this.#current) process.kill(this.#current.pid, signal);
  }

  /** Resolves once a server serves (after any restart in progress). */
  async ready(): Promise<void> {
    while (this.#restarting || !this.#current) {
      await (this.#restarting ?? new Promise((r) => setTimeout(r, 100)));
    }
  }

  /** SIGTERM: a clean shutdown that waits for the server's local workers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#restarting;
    await this.#current?.stop();
    this.#current = undefined;
  }

  #watch(server: ServerProcess): void {
    server.child.once("exit", () => {
      if (this.#stopped || this.#current !== server) return;
      // It died by itself: an operator's supervisor starts it again.
      this.#current = undefined;
      const o = this.outage("exited");
      void this.#restart().then(() => o.end());
    });
  }

  #restart(): Promise<void> {
    this.#restarting ??= (async () => {
      let wait = RETRY_MIN_MS;
      while (!this.#stopped) {
        try {
          this.#current = await startServerProcess(this.#dataDir, { port: this.#port, args: [...this.#args], env: this.#env, timeoutMs: 60_000 });
          this.#watch(this.#current);
          this.restarts++;
          return;
        } catch {
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(RETRY_MAX_MS, wait * 2);
        }
      }
    })().finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  async #poll(): Promise<void> {
    const server = this.#current;
    if (!server || this.#restarting || this.#stopped) return;
    this.#sampleMemory(server.pid);
    const health = createClient(Health, createGrpcTransport({ baseUrl: this.url }));
    const status = await health.check({ service: "" }, { timeoutMs: 2_000 }).then(
      (r) => r.status,
      () => undefined, // unreachable or paused: kills and pauses are the faults' business
    );
    if (status !== HealthCheckResponse_ServingStatus.NOT_SERVING || this.#current !== server) return;
    // Storage failed: the server says so; a restart reopens its data directory.
    const o = this.outage("not serving");
    this.#current = undefined;
    await server.stop();
    await this.#restart();
    o.end();
  }

  #sampleMemory(pid: number): void {
    void readFile(`/proc/${pid}/status`, "utf8").then(
      (status) => {
        const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        if (kb > 0) this.rssSamples.push({ at: Date.now(), pid, bytes: kb * 1024 });
      },
      () => undefined,
    );
  }
}
