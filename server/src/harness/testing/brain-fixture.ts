import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { startScriptedModel, type ScriptedModel, type ScriptedModelOptions } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { AgentConfigSchema, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { startTestApp, type TestApp } from "../../testing/test-app.js";
import type { HarnessOptions } from "../harness-options.js";
import { fromInt64, toInt64 } from "../int64.js";

/** The compiled CLI the worker processes run (build with `npx tsc -b` first). */
export const CLI_MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "dist", "cli", "main.js");

export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Its log lines (stderr), for assertions about what it did. */
  readonly logs: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * A real server (in this process, over real sockets), the scripted model over HTTP, and
 * brain workers as real child processes of the compiled CLI that reach the model through
 * ANTHROPIC_BASE_URL, as in production.
 */
export class BrainFixture {
  readonly app: TestApp;
  readonly model: ScriptedModel;
  readonly sessions;
  readonly harness;
  readonly sandboxes;
  readonly workers: WorkerProcess[] = [];
  /** The model key the workers hold; it must never reach a sandbox or the log (HARN-14). */
  readonly apiKey = `sk-ant-test-${randomUUID()}`;

  /** The pool worker token the fixture's workers connect with. */
  readonly workerToken: string;

  private constructor(app: TestApp, model: ScriptedModel, workerToken: string) {
    this.app = app;
    this.model = model;
    this.workerToken = workerToken;
    this.sessions = app.client(SessionService);
    this.harness = app.client(HarnessService);
    this.sandboxes = app.client(SandboxService);
  }

  static async start(options: { harness?: Partial<HarnessOptions>; model?: ScriptedModelOptions; allowLoopbackUpstreams?: boolean } = {}): Promise<BrainFixture> {
    const model = await startScriptedModel(options.model);
    const app = await startTestApp({ harness: { leaseTtlMs: 1_000, sweepIntervalMs: 100, ...options.harness }, allowLoopbackUpstreams: options.allowLoopbackUpstreams });
    const { bearerToken } = await app.client(TokenService).createToken({ tenant: "*", role: TokenRole.WORKER, description: "brain fixture workers" });
    return new BrainFixture(app, model, bearerToken);
  }

  /** Starts a worker process and waits until the server has registered it. */
  async startWorker(args: readonly string[] = [], timeoutMs = 20_000): Promise<WorkerProcess> {
    const id = `w-${randomUUID().slice(0, 8)}`;
    const child = spawn(process.execPath, [CLI_MAIN, "worker", "--server", this.app.url, "--id", id, "--model-backoff-ms", "20", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OMA_TOKEN: this.workerToken, ANTHROPIC_API_KEY: this.apiKey, ANTHROPIC_BASE_URL: this.model.url, OMA_LOG_LEVEL: process.env["OMA_TEST_WORKER_LOG_LEVEL"] ?? "warn" },
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const logs: string[] = [];
    createInterface({ input: child.stderr! }).on("line", (line) => {
      logs.push(line);
      if (process.env["OMA_TEST_WORKER_LOGS"]) process.stderr.write(`[${id}] ${line}\n`);
    });
    const worker = { id, child, logs, exited };
    this.workers.push(worker);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${id} did not connect within ${timeoutMs} ms`)), timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        if (line.startsWith("OMA_WORKER_CONNECTED")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`worker ${id} exited with ${code} before connecting`));
      });
    });
    return worker;
  }

  /** The worker process running the session's brain, per ListHarnesses. */
  async workerOf(sessionId: string): Promise<WorkerProcess | undefined> {
    const { harnesses } = await this.harness.listHarnesses({ sessionId });
    return this.workers.find((w) => w.id === harnesses[0]?.workerId);
  }

  async kill(worker: WorkerProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    worker.child.kill(signal);
    if (signal === "SIGKILL" || signal === "SIGTERM") await worker.exited;
  }

  /** Creates a session with a unique id and sends the first user message. */
  async createSession(agent: MessageInitShape<typeof AgentConfigSchema>, prompt = "go"): Promise<string> {
    const sessionId = `hs-${randomUUID()}`;
    await this.sessions.createSession({ sessionId, agent: { model: "scripted", ...agent } });
    await this.say(sessionId, prompt);
    return sessionId;
  }

  async say(sessionId: string, text: string): Promise<void> {
    await this.sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } } } });
  }

  async emit(sessionId: string, payload: MessageInitShape<typeof import("@oma/client/gen/oma/v1/event_pb.js").EventSchema>["payload"]): Promise<void> {
    await this.sessions.emitEvent({ sessionId, event: { payload } });
  }

  /** The whole log. */
  async events(sessionId: string): Promise<Event[]> {
    const out: Event[] = [];
    for (;;) {
      const res = await this.sessions.getEvents({ sessionId, afterSeq: toInt64(out.length), limit: 1000 });
      out.push(...res.events);
      if (out.length >= fromInt64(res.headSeq) || res.events.length === 0) return out;
    }
  }

  /**
   * Waits until the session is IDLE after `afterSeq` with no live lease, and returns the
   * stop reason of that idle status.
   */
  async waitIdle(sessionId: string, afterSeq = 0, timeoutMs = 30_000): Promise<StopReason> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { session } = await this.sessions.getSession({ sessionId });
      if (session && session.status === SessionStatus.IDLE && !session.lease && fromInt64(session.headSeq) > afterSeq) {
        const events = await this.events(sessionId);
        const last = events.at(-1)?.payload;
        if (last?.case === "statusChanged" && last.value.status === SessionStatus.IDLE) return last.value.stopReason;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`session ${sessionId} did not go idle within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    for (const w of this.workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(this.workers.map((w) => w.exited));
    await this.app.stop();
    await this.model.close();
  }
}
