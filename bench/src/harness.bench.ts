/**
 * Harness speed, with the scripted model answering after a fixed time to first byte:
 *   Wake → first model request, p50/p95, with lazy hands (the default)
 *   time to first token (Wake → the model's first byte), lazy vs eager provisioning of a
 *   docker sandbox, measured in the same run; reductions printed beside the Managed
 *   Agents post's p50 −60% / p95 −90%.
 * Goals: Wake → first model request p50 <= 30 ms; lazy/eager TTFT ratio p50 <= 0.4 and
 * p95 <= 0.1 (the post's reductions).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createOmaClient } from "@oma/client/node";
import { byStep, startScriptedModel } from "@oma/conformance/scripted-model";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { startApp } from "@oma/server/dist/app.js";
import { createLogger } from "@oma/server/dist/logger.js";
import { fmt, percentile, preciseNow, printTable } from "./report.js";

/** The model's own time to first byte, the same for both modes. */
const MODEL_TTFB_MS = 150;
const SESSIONS = Number(process.env["OMA_BENCH_HARNESS_SESSIONS"] ?? 20);
const WARMUP = 2;
const cli = fileURLToPath(new URL("../../server/dist/cli/main.js", import.meta.url));

const model = await startScriptedModel({
  script: byStep([{ content: [{ type: "tool_use", name: "bash", input: { command: "true" } }] }], { content: [{ type: "text", text: "ok" }] }),
  latency: { firstByteMs: MODEL_TTFB_MS },
});
const dataDir = await mkdtemp(join(tmpdir(), "oma-bench-harness-"));
const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", logger: createLogger({ level: "warn" }) });
const token = (await readFile(app.adminTokenFile!, "utf8")).trim();
const oma = createOmaClient({ baseUrl: app.url, token, protocol: "grpc" });
const { sessions, harness, sandboxes } = oma;

async function startWorker(eager: boolean): Promise<ChildProcess> {
  const args = [cli, "worker", "--server", app.url, "--id", `bench-${eager ? "eager" : "lazy"}-${process.pid}`, ...(eager ? ["--eager-sandbox"] : [])];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, OMA_TOKEN: token, ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn" },
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => l.startsWith("OMA_WORKER_CONNECTED") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}

async function waitIdle(sessionId: string): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    const { session } = await sessions.getSession({ sessionId });
    if (session && session.status === SessionStatus.IDLE && !session.lease && session.headSeq > 1n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`session ${sessionId} never went idle`);
}

/** Runs one session's turn; returns Wake → first model request, in ms. */
async function oneSession(tag: string, i: number): Promise<number> {
  const sessionId = `bench-${tag}-${process.pid}-${i}`;
  await sessions.createSession({ sessionId, agent: { model: "scripted", sandbox: { backend: "docker" } } });
  await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: sessionId } } }] } } } });
  const seen = model.requests.length;
  const t0 = preciseNow();
  await harness.wake({ sessionId });
  await waitIdle(sessionId);
  const first = model.requests.slice(seen).find((r) => JSON.stringify(r.body.messages).includes(sessionId));
  const { sandboxes: list } = await sandboxes.listSandboxes({ sessionId });
  for (const s of list) await sandboxes.destroySandbox({ sandboxId: s.sandboxId });
  return first!.receivedAt - t0;
}

async function measure(eager: boolean): Promise<number[]> {
  const worker = await startWorker(eager);
  const tag = eager ? "eager" : "lazy";
  for (let i = 0; i < WARMUP; i++) await oneSession(`${tag}-warm`, i);
  const samples: number[] = [];
  for (let i = 0; i < SESSIONS; i++) samples.push(await oneSession(tag, i));
  worker.kill("SIGTERM");
  await new Promise((r) => worker.once("exit", r));
  return samples;
}

try {
  const lazy = await measure(false);
  const eager = await measure(true);
  const ttft = (xs: number[]) => xs.map((x) => x + MODEL_TTFB_MS);
  const p = (xs: number[], q: number) => percentile(xs, q);
  printTable(`harness: Wake → first model request, lazy hands (${SESSIONS} sessions, docker backend, one worker process)`, [
    { what: "Wake → first model request p50", value: p(lazy, 50), unit: "ms", goal: { text: "<= 30 ms" } },
    { what: "Wake → first model request p95", value: p(lazy, 95), unit: "ms" },
  ]);
  printTable(`harness: time to first token = Wake → model request + the model's fixed ${MODEL_TTFB_MS} ms TTFB`, [
    { what: "TTFT p50 lazy provisioning", value: p(ttft(lazy), 50), unit: "ms", limit: { what: "eager", value: p(ttft(eager), 50) }, goal: { atMost: 0.4 } },
    { what: "TTFT p95 lazy provisioning", value: p(ttft(lazy), 95), unit: "ms", limit: { what: "eager", value: p(ttft(eager), 95) }, goal: { atMost: 0.1 } },
  ]);
  const cut = (q: number) => (1 - p(ttft(lazy), q) / p(ttft(eager), q)) * 100;
  console.log(`  reduction from lazy hands: p50 -${fmt(cut(50), 0)}%  p95 -${fmt(cut(95), 0)}%   (Managed Agents post: p50 -60%, p95 -90%)`);
  console.log(`  wake → first model request p50 ${p(lazy, 50) <= 30 ? "met" : "NOT met"} the 30 ms goal`);
} finally {
  await app.close();
  await model.close();
  await rm(dataDir, { recursive: true, force: true });
}
