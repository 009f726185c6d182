/**
 * Capacity: N sessions woken at once on one server started as `npm start` starts it (`oma
 * serve` with its default local workers), each a turn of 3 tool calls in a bubblewrap
 * sandbox with the scripted model answering after a fixed latency. Printed: wall time from
 * the wakes until every session is idle, beside one session's critical path (the same turn
 * alone, measured in the same run), for N = 50, 200, 1,000; and the CPU-seconds the server
 * and everything it started (workers, sandboxes) spent per session turn.
 * Goals: 200 sessions within 1.3 × one session's time, 1,000 within 2 ×.
 */
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { createOmaClient } from "@oma/client/node";
import { byStep, startScriptedModel } from "@oma/conformance/scripted-model";
import { startServerProcess } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { CLK_TCK, processTree } from "./proc-stat.js";
import { printTable, type Row } from "./report.js";

const MODEL_MS = Number(process.env["OMA_BENCH_MODEL_MS"] ?? 1000);
const SIZES = (process.env["OMA_BENCH_CAPACITY_N"] ?? "50,200,1000").split(",").map(Number);
const TOOL_CALLS = 3;

/** Whether a child of the server is one of its brain workers (`oma worker …`; the spawner, also a node child, is not). */
function isWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("worker");
  } catch {
    return false; // it exited meanwhile
  }
}

/** CPU-seconds by part: the server process, its brain workers, and every other process (the spawner, sandboxes, their tools), live or reaped. */
function cpuByPart(root: number): { server: number; workers: number; sandboxes: number } {
  const tree = processTree(root);
  const workers = new Set(tree.filter((p) => p.ppid === root && isWorker(p.pid)).map((p) => p.pid));
  let server = 0;
  let workerTicks = 0;
  let rest = 0;
  for (const p of tree) {
    if (p.pid === root) {
      server += p.own;
      rest += p.ticks - p.own;
    } else if (workers.has(p.pid)) {
      workerTicks += p.own;
      rest += p.ticks - p.own;
    } else rest += p.ticks;
  }
  // A worker that exited is in the server's reaped children; none does during a round.
  return { server: server / CLK_TCK, workers: workerTicks / CLK_TCK, sandboxes: rest / CLK_TCK };
}

const cpuSeconds = (root: number) => processTree(root).reduce((a, p) => a + p.ticks, 0) / CLK_TCK;
const rssMb = (root: number) => (processTree(root).reduce((a, p) => a + p.rssPages, 0) * 4096) / 2 ** 20;

const model = await startScriptedModel({
  script: byStep(
    Array.from({ length: TOOL_CALLS }, (_, i) => ({ content: [{ type: "tool_use" as const, name: "bash", input: { command: `echo step ${i}` } }] })),
    { content: [{ type: "text", text: "done" }] },
  ),
  latency: { firstByteMs: MODEL_MS },
});
const dir = await tempDir("oma-bench-capacity-");
const server = await startServerProcess(dir.path, { env: { OMA_LOG_LEVEL: "error", ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url } });
const { sessions, harness, sandboxes } = createOmaClient({ baseUrl: server.url, token: server.adminToken, protocol: "grpc" });

/** Creates n sessions with a user message each, wakes them all at once; resolves with the wall time and CPU until all are idle. */
/** Largest RSS of the server's process tree seen during a round (sampled every second). */
let peakRssMb = 0;

async function round(tag: string, n: number): Promise<{ wallMs: number; cpuSeconds: number }> {
  const labels = { bench: tag };
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(n, 64) }, async () => {
      while (ids.length < n) {
        const sessionId = `cap-${tag}-${ids.length}-${process.pid}`;
        ids.push(sessionId);
        await sessions.createSession({ sessionId, labels, agent: { model: "scripted", sandbox: { backend: "bubblewrap" } } });
        await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } } } });
      }
    }),
  );
  const cpu0 = cpuSeconds(server.pid);
  const parts0 = cpuByPart(server.pid);
  const t0 = performance.now();
  await Promise.all(ids.map((sessionId) => harness.wake({ sessionId })));
  let polls = 0;
  // A turn is over when the session is idle again, with no lease, past its tool calls.
  for (;;) {
    let done = 0;
    let pageToken = "";
    do {
      const page = await sessions.listSessions({ labels, status: SessionStatus.IDLE, pageSize: 1000, pageToken });
      done += page.sessions.filter((s) => !s.lease && s.headSeq > BigInt(2 * TOOL_CALLS + 2)).length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (done === n) break;
    if (++polls % 4 === 0) peakRssMb = Math.max(peakRssMb, rssMb(server.pid));
    await sleep(250);
  }
  const wallMs = performance.now() - t0;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const parts1 = cpuByPart(server.pid);
  const per = (k: keyof typeof parts0) => (((parts1[k] - parts0[k]) / n) * 1000).toFixed(0);
  console.log(`  ${tag}: CPU per session turn by part: server ${per("server")} ms, brain workers ${per("workers")} ms, sandboxes and their tools ${per("sandboxes")} ms`);
  // The next round starts with no sandbox left (a server keeps at most max_sandboxes).
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) {
      const { sandboxes: list } = await sandboxes.listSandboxes({ sessionId: ids[next++]! });
      for (const s of list) await sandboxes.destroySandbox({ sandboxId: s.sandboxId });
    }
  }));
  return { wallMs, cpuSeconds: cpu };
}

try {
  await round("warm", 2);
  const one = await round("one", 1);
  const rows: Row[] = [];
  for (const n of SIZES) {
    peakRssMb = 0;
    const r = await round(`n${n}`, n);
    const goal = n === 200 ? { atMost: 1.3 } : n === 1000 ? { atMost: 2 } : undefined;
    rows.push({ what: `${n} sessions woken at once, wall time to all idle`, value: r.wallMs, unit: "ms", limit: { what: "one session alone", value: one.wallMs }, goal });
    // One session alone also pays the server's and workers' idle work (heartbeats, sweeps) for its whole turn.
    rows.push({ what: `${n} sessions: CPU per session turn`, value: (r.cpuSeconds / n) * 1000, unit: "ms CPU", limit: { what: "one session alone", value: one.cpuSeconds * 1000 } });
    console.log(`  (${n} sessions: ${r.cpuSeconds.toFixed(1)} CPU-s in all; server, workers and sandboxes at most ${peakRssMb.toFixed(0)} MB RSS)`);
  }
  printTable(`Capacity: npm start's defaults, bubblewrap, scripted model answering after ${MODEL_MS} ms, ${TOOL_CALLS} tool calls a session`, rows);
} finally {
  await server.stop();
  await model.close();
  await dir.remove();
}
