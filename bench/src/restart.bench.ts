/**
 * Recovery from a crash of the server (HARN-21), with 20, 100 and 500 sessions in flight:
 * every brain is waiting on a model response that has not come when the server and its
 * workers are SIGKILLed together (the machine died); then the server starts again on the
 * same data and the workers with it. Measured, from the moment the restarted server serves:
 * until every session is running again (a brain of a later epoch holds it and has marked it
 * RUNNING), p50 and max, beside the lease TTL of the server, which is the first term of the
 * bound: the dead brains' leases must run out before anyone may take their sessions.
 * Goal: max <= lease TTL + rewake delay (1 s sweep) + 5 s (worker reconnect and start).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { startScriptedModel } from "@oma/conformance/scripted-model";
import { startServerProcess, CLI_PATH } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { fmt, percentile, printTable } from "./report.js";

const SIZES = (process.env["OMA_BENCH_RESTART_SIZES"] ?? "20,100,500").split(",").map(Number);
const LEASE_TTL_MS = Number(process.env["OMA_BENCH_RESTART_TTL_MS"] ?? 10_000);
const REWAKE_DELAY_MS = 1_000;
const WORKER_ALLOWANCE_MS = 5_000;
const WORKERS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every model call hangs: the brains stay in flight, each holding its lease.
const model = await startScriptedModel({ script: () => ({ content: [{ type: "text", text: "never sent" }], latency: { firstByteMs: 3_600_000 } }) });

async function startWorkers(url: string, token: string, run: string): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: WORKERS }, (_, i) => {
      const child = spawn(process.execPath, [CLI_PATH, "worker", "--server", url, "--id", `bench-${run}-${i}`, "--capacity", "300", "--model-idle-timeout-ms", "3600000"], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, OMA_TOKEN: token, ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: process.env["OMA_BENCH_WORKER_LOG_LEVEL"] ?? "error" },
      });
      return new Promise<ChildProcess>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on("line", (l) => l.startsWith("OMA_WORKER_CONNECTED") && resolve(child));
        child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
      });
    }),
  );
}

/** Status and lease epoch of every session of the run, by id. */
async function snapshot(oma: OmaClient, label: Record<string, string>): Promise<Map<string, { status: SessionStatus; epoch: bigint }>> {
  const out = new Map<string, { status: SessionStatus; epoch: bigint }>();
  let pageToken = "";
  do {
    const page = await oma.sessions.listSessions({ pageSize: 1000, pageToken, labels: label });
    for (const s of page.sessions) out.set(s.sessionId, { status: s.status, epoch: s.lease?.epoch ?? 0n });
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

async function measure(n: number): Promise<{ p50: number; max: number }> {
  const dir = await tempDir("oma-bench-restart-");
  const args = ["--workers", "0", "--lease-ttl-ms", String(LEASE_TTL_MS)];
  const env = { OMA_LOG_LEVEL: process.env["OMA_BENCH_LOG_LEVEL"] ?? "error" };
  let server = await startServerProcess(dir.path, { args, env, timeoutMs: 60_000 });
  const port = Number(new URL(server.url).port);
  let workers = await startWorkers(server.url, server.adminToken, `${n}a`);
  const oma = createOmaClient({ baseUrl: server.url, token: server.adminToken });
  const label = { bench: `restart-${n}` };
  try {
    const ids = Array.from({ length: n }, (_, i) => `restart-${n}-${i}`);
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map(async (sessionId) => {
          await oma.sessions.createSession({ sessionId, labels: label, agent: { model: "scripted" } });
          await oma.sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } } } });
          await oma.harness.wake({ sessionId });
        }),
      );
    }
    let before = await snapshot(oma, label);
    for (let i = 0; [...before.values()].some((s) => s.status !== SessionStatus.RUNNING); i++) {
      if (i > 1200) throw new Error("not every session got running before the crash");
      await sleep(100);
      before = await snapshot(oma, label);
    }
    // The machine dies: server and workers at once.
    for (const w of workers) w.kill("SIGKILL");
    await server.kill();
    server = await startServerProcess(dir.path, { args, env, port, timeoutMs: 60_000 });
    const back = Date.now();
    workers = await startWorkers(server.url, server.adminToken, `${n}b`);
    const again = new Map<string, number>();
    const deadline = back + LEASE_TTL_MS * 4 + 60_000;
    while (again.size < n && Date.now() < deadline) {
      for (const [id, s] of await snapshot(oma, label)) {
        if (!again.has(id) && s.status === SessionStatus.RUNNING && s.epoch > before.get(id)!.epoch) again.set(id, Date.now() - back);
      }
      await sleep(50);
    }
    if (again.size < n) {
      const now = await snapshot(oma, label);
      const { harnesses } = await oma.harness.listHarnesses({ pageSize: 1000 });
      const missing = [...now].filter(([id]) => !again.has(id)).slice(0, 5).map(([id, s]) => {
        const h = harnesses.find((x) => x.sessionId === id);
        return `${id}: ${SessionStatus[s.status]} epoch ${s.epoch} (before ${before.get(id)!.epoch}), brain ${h ? `${h.harnessId} epoch ${h.leaseEpoch} on ${h.workerId || "no worker"}` : "none"}`;
      });
      throw new Error(`${n - again.size} of ${n} sessions were not running again ${deadline - back} ms after the restart: ${missing.join("; ")}`);
    }
    const times = [...again.values()];
    return { p50: percentile(times, 50), max: Math.max(...times) };
  } finally {
    for (const w of workers) w.kill("SIGKILL");
    await server.stop();
    await dir.remove();
  }
}

try {
  const rows = [];
  for (const n of SIZES) {
    const r = await measure(n);
    rows.push(
      { what: `${n} sessions: restart → all running again, p50`, value: r.p50, unit: "ms", limit: { what: "lease TTL", value: LEASE_TTL_MS } },
      { what: `${n} sessions: restart → all running again, max`, value: r.max, unit: "ms", limit: { what: "lease TTL", value: LEASE_TTL_MS }, goal: { atMost: (LEASE_TTL_MS + REWAKE_DELAY_MS + WORKER_ALLOWANCE_MS) / LEASE_TTL_MS } },
    );
  }
  printTable(`restart: a server and its ${WORKERS} workers SIGKILLed with every brain in flight, then started again on the same data (lease TTL ${fmt(LEASE_TTL_MS, 0)} ms)`, rows);
} finally {
  await model.close();
}
// The hung model responses wait on timers of their own; nothing else is left to do.
process.exit(0);
