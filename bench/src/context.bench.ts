/**
 * Long sessions past the model's context window (HARN-21), through a real worker process,
 * real sandbox calls and the scripted model (fixed time to first byte, a 64 000-token
 * window, tokens counted as one per four characters of JSON):
 *   input tokens per step request against session length, per 100-step band, for
 *   1000-step sessions under COMPACT and CLEAR, beside what the whole log would cost (NONE)
 *   at the band's end; whether COMPACT stays flat once compaction starts (steps 501-1000
 *   against the first compaction to step 500); CLEAR keeps every call and a stub per
 *   result, so it grows by those and ends CONTEXT_EXHAUSTED once they fill the budget;
 *   cache read ratio (cache reads / all input tokens of step calls) beside a NONE session
 *   that fits the window;
 *   the time of one compaction and one clearing beside one step's model call.
 * Goals: COMPACT's mean request over steps 501-1000 within 10% of its mean from the first
 * compaction to step 500; no request over max_input_tokens; cache read ratio at least 0.8
 * of NONE's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createOmaClient } from "@oma/client/node";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, SessionStatus, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { bySteps, promptTokens, stepOf, startScriptedModel, type Responder } from "@oma/conformance/scripted-model";
import { startApp } from "@oma/server/dist/app.js";
import { eventsToMessages } from "@oma/server/dist/harness/worker/conversation.js";
import { createLogger } from "@oma/server/dist/logger.js";
import { fmt, percentile, printTable } from "./report.js";

const STEPS = Number(process.env["OMA_BENCH_CONTEXT_STEPS"] ?? 1000);
const NONE_STEPS = 100;
const MODEL_TTFB_MS = 20;
const OUTPUT_CHARS = 2000;
const WINDOW = 64_000;
const MAX_INPUT = 60_000;
const TARGET = 30_000;
const backend = existsSync("/usr/bin/bwrap") ? "bubblewrap" : "process";
const cli = fileURLToPath(new URL("../../server/dist/cli/main.js", import.meta.url));

const responders = new Map<string, Responder>();
const model = await startScriptedModel({
  script: (req) => responders.get(req.body.model)!(req),
  latency: { firstByteMs: MODEL_TTFB_MS },
  contextWindow: WINDOW,
});
const dataDir = await mkdtemp(join(tmpdir(), "oma-bench-context-"));
const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", sandboxBackend: backend, logger: createLogger({ level: "error" }) });
const token = (await readFile(app.adminTokenFile!, "utf8")).trim();
const { sessions, harness } = createOmaClient({ baseUrl: app.url, token, protocol: "grpc" });

async function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, "worker", "--server", app.url, "--id", `bench-context-${process.pid}`, "--capacity", "1"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, OMA_TOKEN: token, ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn" },
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => l.startsWith("OMA_WORKER_CONNECTED") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}

async function allEvents(sessionId: string): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const res = await sessions.getEvents({ sessionId, afterSeq: BigInt(out.length), limit: 1000 });
    out.push(...res.events);
    if (res.events.length === 0 || BigInt(out.length) >= res.headSeq) return out;
  }
}

interface Run {
  readonly name: string;
  readonly events: Event[];
  /** Input tokens of each step's request, by step. */
  readonly stepTokens: Map<number, number>;
  readonly wallMs: number;
  readonly stop: StopReason;
  readonly countCalls: number;
}

/** One session of up to `steps` tool calls of OUTPUT_CHARS each under `strategy`. */
async function run(name: string, strategy: ContextStrategy, steps: number): Promise<Run> {
  const modelName = `bench-${name}-${process.pid}`;
  responders.set(modelName, bySteps({ steps, step: (n) => ({ content: [{ type: "tool_use", name: "bash", input: { command: `yes step-${n} 2>/dev/null | head -c ${OUTPUT_CHARS}` } }] }) }));
  const sessionId = `bench-context-${name}-${process.pid}`;
  await sessions.createSession({
    sessionId,
    agent: {
      model: modelName,
      maxTurnSteps: steps + 10,
      tools: [{ name: "bash", kind: ToolKind.SANDBOX }],
      sandbox: { backend },
      context: { strategy, maxInputTokens: MAX_INPUT, targetInputTokens: TARGET },
    },
  });
  await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "work through the steps" } } }] } } } });
  const counts = model.tokenCounts.length;
  const t0 = Date.now();
  await harness.wake({ sessionId });
  for (;;) {
    const { session } = await sessions.getSession({ sessionId });
    if (session && session.status === SessionStatus.IDLE && !session.lease && session.headSeq > 1n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const wallMs = Date.now() - t0;
  const events = await allEvents(sessionId);
  const last = events.at(-1)!.payload;
  const stepTokens = new Map<number, number>();
  for (const r of model.requests) {
    const n = r.body.model === modelName ? stepOf(r.body) : undefined;
    if (typeof n === "number" && n < steps) stepTokens.set(n, promptTokens(r.body));
  }
  return { name, events, stepTokens, wallMs, stop: last.case === "statusChanged" ? last.value.stopReason : StopReason.UNSPECIFIED, countCalls: model.tokenCounts.length - counts };
}

/** What the request of step n would carry with the whole log (NONE): the log before step n's call, no context events. */
function fullLogTokens(r: Run, n: number): number {
  const request = model.requests.find((q) => q.body.model.endsWith(`-${process.pid}`) && q.body.model.includes(r.name) && stepOf(q.body) === n)!;
  const at = r.events.findIndex((e) => e.payload.case === "toolUse" && e.payload.value.toolUseId === `toolu_step${n}_0`);
  const before = (at < 0 ? r.events : r.events.slice(0, at)).filter((e) => e.payload.case !== "contextCompacted");
  return promptTokens({ tools: request.body.tools, system: request.body.system, messages: eventsToMessages(before) });
}

/** Usage of step calls (not summarising calls): a model_usage not followed by a context event. */
function stepUsage(r: Run) {
  return r.events.flatMap((e, i) => (e.payload.case === "modelUsage" && r.events[i + 1]?.payload.case !== "contextCompacted" ? [e.payload.value] : []));
}

function cacheReadRatio(r: Run): number {
  let read = 0;
  let all = 0;
  for (const u of stepUsage(r)) {
    read += Number(u.cacheReadInputTokens);
    all += Number(u.inputTokens) + Number(u.cacheReadInputTokens) + Number(u.cacheCreationInputTokens);
  }
  return read / all;
}

const ms = (d: { seconds: bigint; nanos: number } | undefined) => (d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : 0);
const acts = (r: Run) => r.events.flatMap((e) => (e.payload.case === "contextCompacted" ? [e.payload.value] : []));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const worker = await startWorker();
try {
  const none = await run("none", ContextStrategy.NONE, NONE_STEPS);
  const compact = await run("compact", ContextStrategy.COMPACT, STEPS);
  const clear = await run("clear", ContextStrategy.CLEAR, STEPS);
  const steps = (r: Run) => r.events.filter((e) => e.payload.case === "toolResult").length;
  const band = (r: Run, from: number, to: number) => [...r.stepTokens.entries()].filter(([n]) => n >= from && n < to).map(([, t]) => t);

  console.log(`\ncontext: ${STEPS}-step sessions, ${OUTPUT_CHARS}-character tool outputs on ${backend}, window ${WINDOW}, max_input_tokens ${MAX_INPUT}, target ${TARGET}, model TTFB ${MODEL_TTFB_MS} ms`);
  console.log(`  ended: COMPACT ${StopReason[compact.stop]} after ${steps(compact)} steps (${acts(compact).length} compactions), CLEAR ${StopReason[clear.stop]} after ${steps(clear)} steps (${acts(clear).length} clearings), NONE ${StopReason[none.stop]} after ${steps(none)} steps`);
  console.log("\n  input tokens per step request     COMPACT min / mean / max        CLEAR min / mean / max    whole log at the band's end   COMPACT mean / whole log");
  for (let from = 0; from < STEPS; from += 100) {
    const c = band(compact, from, from + 100);
    const l = band(clear, from, from + 100);
    const end = Math.min(from + 99, steps(compact) - 1);
    const full = fullLogTokens(compact, end);
    const triple = (xs: number[]) => (xs.length ? `${fmt(Math.min(...xs))} / ${fmt(mean(xs))} / ${fmt(Math.max(...xs))}` : "-");
    console.log(`  steps ${String(from).padStart(4)}-${String(from + 99).padEnd(4)}${triple(c).padStart(30)}${triple(l).padStart(30)}${fmt(full).padStart(30)}${fmt(mean(c) / full, 3).padStart(27)}`);
  }

  const firstAct = Math.min(...[...compact.stepTokens.entries()].filter(([, t], i, all) => i > 0 && t < (all[i - 1]?.[1] ?? 0)).map(([n]) => n));
  const tokensIn = (from: number, to: number) => [...compact.stepTokens.entries()].filter(([n]) => n >= from && n <= to).map(([, t]) => t);
  const half = Math.floor(STEPS / 2);
  printTable("context: request size once compaction starts (COMPACT)", [
    { what: `mean request, steps ${half + 1}-${STEPS}`, value: mean(tokensIn(half + 1, STEPS)), unit: "tokens", limit: { what: `steps ${firstAct}-${half}`, value: mean(tokensIn(firstAct, half)) }, goal: { atMost: 1.1 } },
    { what: "largest request", value: Math.max(...compact.stepTokens.values()), unit: "tokens", limit: { what: "max_input_tokens", value: MAX_INPUT }, goal: { atMost: 1 } },
    { what: `mean request, steps ${half + 1}-${STEPS}`, value: mean(tokensIn(half + 1, STEPS)), unit: "tokens", limit: { what: `the whole log at step ${STEPS - 1}`, value: fullLogTokens(compact, steps(compact) - 1) } },
  ]);
  printTable("context: prompt cache (cache reads / all input tokens of step calls)", [
    { what: "cache read ratio, COMPACT", value: cacheReadRatio(compact), unit: "", limit: { what: `NONE (${NONE_STEPS} steps, no action)`, value: cacheReadRatio(none) }, goal: { atLeast: 0.8 } },
    { what: "cache read ratio, CLEAR", value: cacheReadRatio(clear), unit: "", limit: { what: `NONE (${NONE_STEPS} steps, no action)`, value: cacheReadRatio(none) }, goal: { atLeast: 0.8 } },
  ]);
  const stepCall = stepUsage(compact).map((u) => ms(u.duration));
  const compactions = acts(compact).map((a) => ms(a.duration));
  const clearings = acts(clear).map((a) => ms(a.duration));
  printTable("context: time of one action (count, summarising call, append) beside one step's model call", [
    { what: "compaction p50", value: percentile(compactions, 50), unit: "ms", limit: { what: "step model call p50", value: percentile(stepCall, 50) } },
    { what: "compaction p95", value: percentile(compactions, 95), unit: "ms", limit: { what: "step model call p95", value: percentile(stepCall, 95) } },
    { what: "clearing p50", value: percentile(clearings, 50), unit: "ms", limit: { what: "step model call p50", value: percentile(stepCall, 50) } },
    { what: "wall time per step, COMPACT", value: compact.wallMs / steps(compact), unit: "ms", limit: { what: "NONE", value: none.wallMs / steps(none) } },
    { what: "count_tokens calls per step, COMPACT", value: compact.countCalls / steps(compact), unit: "", goal: { text: "few: the estimate from the log decides most steps" } },
  ]);
} finally {
  worker.kill("SIGTERM");
  await new Promise((r) => worker.once("exit", r));
  await app.close();
  await model.close();
  await rm(dataDir, { recursive: true, force: true });
}
