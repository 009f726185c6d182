/**
 * What seeing inside costs, and how fast the inspector shows a long session:
 *   EmitEvent rate (concurrency 64) with tracing on ÷ off — two `oma serve` processes, one
 *     exporting every span over OTLP to a local sink, measured in alternating rounds;
 *   Wake → first model request p50 with tracing on vs off (off ÷ on, so that higher is
 *     better like the rate), with a worker process each and the scripted model;
 *   first paint of a 5,000-event session in headless Chromium (navigation to the whole
 *     timeline drawn), beside the same page for a 10-event session.
 * Goals: on ÷ off >= 0.95 for both; first paint of 5,000 events <= 1 s.
 */
import { createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { byStep, startScriptedModel } from "@oma/conformance/scripted-model";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { startServerProcess, type ServerProcess } from "@oma/server/dist/testing/server-process.js";
import { chromiumAvailable, launchChromium } from "@oma/server/dist/testing/chromium.js";
import { fmt, percentile, preciseNow, printTable } from "./report.js";

const ROUNDS = 5;
const ROUND_MS = 2000;
const CONCURRENCY = 64;
const WAKES = Number(process.env["OMA_BENCH_TELEMETRY_WAKES"] ?? 20);
const PAINT_EVENTS = 5000;

/** An OTLP/HTTP endpoint that takes every export and throws it away. */
async function startSink(): Promise<{ endpoint: string; exports: () => number; close: () => Promise<void> }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => exports, close: () => new Promise((r) => server.close(() => r())) };
}

const sink = await startSink();
const model = await startScriptedModel({ script: byStep([], { content: [{ type: "text", text: "ok" }] }) });
const dirs: string[] = [];
async function serve(traced: boolean): Promise<{ server: ServerProcess; client: OmaClient }> {
  const dir = await mkdtemp(join(tmpdir(), `oma-bench-telemetry-${traced ? "on" : "off"}-`));
  dirs.push(dir);
  const server = await startServerProcess(dir, {
    args: ["--workers", "1", "--sandbox-backend", "process"],
    env: { ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "error", ...(traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint } : { OTEL_EXPORTER_OTLP_ENDPOINT: "" }) },
  });
  return { server, client: createOmaClient({ baseUrl: server.url, token: server.adminToken, protocol: "grpc" }) };
}
const off = await serve(false);
const on = await serve(true);

const text = (t: string): MessageInitShape<typeof EventSchema>["payload"] => ({ case: "userMessage", value: { content: [{ block: { case: "text", value: { text: t } } }] } });

async function emitRate(client: OmaClient, sessionIds: readonly string[]): Promise<number> {
  let done = 0;
  const end = Date.now() + ROUND_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (Date.now() < end) {
        await client.sessions.emitEvent({ sessionId: sessionIds[w % sessionIds.length]!, event: { payload: { case: "custom", value: { type: "bench", data: { w } } } } });
        done++;
      }
    }),
  );
  return (done * 1000) / ROUND_MS;
}

async function sessionsOf(client: OmaClient, tag: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `bench-tel-${tag}-${process.pid}-${i}`);
  for (const sessionId of ids) await client.sessions.createSession({ sessionId, agent: { model: "scripted" } });
  return ids;
}

// 1. Emit rate, alternating rounds so that both see the same machine.
const offIds = await sessionsOf(off.client, "emit-off", 8);
const onIds = await sessionsOf(on.client, "emit-on", 8);
await emitRate(off.client, offIds);
await emitRate(on.client, onIds);
const offRates: number[] = [];
const onRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  offRates.push(await emitRate(off.client, offIds));
  onRates.push(await emitRate(on.client, onIds));
}

// 2. Wake → first model request, alternating sessions.
async function wakeToFirstRequest(client: OmaClient, tag: string): Promise<number> {
  const sessionId = `bench-tel-wake-${tag}-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await client.sessions.createSession({ sessionId, agent: { model: "scripted" } });
  await client.sessions.emitEvent({ sessionId, event: { payload: text(sessionId) } });
  const seen = model.requests.length;
  const t0 = preciseNow();
  await client.harness.wake({ sessionId });
  for (let i = 0; i < 3000; i++) {
    const first = model.requests.slice(seen).find((req) => JSON.stringify(req.body.messages).includes(sessionId));
    const { session } = await client.sessions.getSession({ sessionId });
    if (first && session?.status === SessionStatus.IDLE && !session.lease) return first.receivedAt - t0;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error(`session ${sessionId} never finished`);
}
for (let i = 0; i < 2; i++) {
  await wakeToFirstRequest(off.client, "warm");
  await wakeToFirstRequest(on.client, "warm");
}
const offWakes: number[] = [];
const onWakes: number[] = [];
for (let i = 0; i < WAKES; i++) {
  offWakes.push(await wakeToFirstRequest(off.client, "off"));
  onWakes.push(await wakeToFirstRequest(on.client, "on"));
}

const offRate = percentile(offRates, 50);
const onRate = percentile(onRates, 50);
printTable(`Tracing cost (OTLP export of every span to a local sink: ${sink.exports()} exports received)`, [
  { what: `EmitEvent rate, concurrency ${CONCURRENCY}, tracing on`, value: onRate, unit: "ev/s", limit: { what: "tracing off", value: offRate }, goal: { atLeast: 0.95 } },
  { what: "Wake → first model request p50, tracing on", value: percentile(onWakes, 50), unit: "ms" },
  { what: "Wake → first model request p50, tracing off", value: percentile(offWakes, 50), unit: "ms" },
  { what: "  speed (1 / p50), tracing on", value: 1000 / percentile(onWakes, 50), unit: "/s", limit: { what: "tracing off", value: 1000 / percentile(offWakes, 50) }, goal: { atLeast: 0.95 } },
]);

// 3. First paint of a 5,000-event session.
async function seedSession(client: OmaClient, events: number): Promise<string> {
  const sessionId = `bench-tel-paint-${events}-${process.pid}`;
  await client.sessions.createSession({ sessionId, agent: { model: "scripted" } });
  const turn = (t: number): MessageInitShape<typeof EventSchema>["payload"][] => [
    text(`turn ${t}: list the files`),
    { case: "harnessStarted", value: { harnessId: `hrn_${t}`, leaseEpoch: BigInt(t + 1), workerId: "bench", resumedAfterSeq: BigInt(t * 10) } },
    { case: "statusChanged", value: { status: SessionStatus.RUNNING } },
    { case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: `Listing the files for turn ${t}.` } } }] } },
    { case: "toolUse", value: { toolUseId: `tu_${t}`, name: "bash", input: { command: "ls -la" } } },
    { case: "modelUsage", value: { model: "scripted", inputTokens: 1200n, outputTokens: 40n, cacheReadInputTokens: 1000n } },
    { case: "toolResult", value: { toolUseId: `tu_${t}`, output: "total 8\ndrwxr-xr-x 2 oma oma 4096 .\n-rw-r--r-- 1 oma oma 12 notes.txt\n", exitCode: 0, sandboxId: "sbx_bench" } },
    { case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: "There is one file, notes.txt." } } }] } },
    { case: "modelUsage", value: { model: "scripted", inputTokens: 1300n, outputTokens: 12n, cacheReadInputTokens: 1200n } },
    { case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: StopReason.END_TURN } },
  ];
  const all = Array.from({ length: Math.ceil(events / 10) }, (_, t) => turn(t)).flat().slice(0, events);
  for (let i = 0; i < all.length; i += 250) await client.sessions.emitEvents({ sessionId, events: all.slice(i, i + 250).map((payload) => ({ payload })) });
  return sessionId;
}
const browser = chromiumAvailable();
if (!browser.available) {
  console.log(`\nInspector first paint: SKIPPED (${browser.why})`);
} else {
  const big = await seedSession(off.client, PAINT_EVENTS);
  const small = await seedSession(off.client, 10);
  const chrome = await launchChromium();
  const paint = async (sessionId: string, turns: number): Promise<number> => {
    const page = await chrome.newPage();
    await page.goto(`${off.server.url}/sessions/${sessionId}#token=${encodeURIComponent(off.server.adminToken)}`);
    await page.locator(`.turn[data-turn="${turns - 1}"]`).waitFor({ timeout: 30_000 });
    // Navigation start → the frame after the last turn is in the DOM.
    const ms = Number(await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())))"));
    await page.close();
    return ms;
  };
  await paint(small, 1);
  await paint(big, PAINT_EVENTS / 10);
  const bigPaints: number[] = [];
  const smallPaints: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    smallPaints.push(await paint(small, 1));
    bigPaints.push(await paint(big, PAINT_EVENTS / 10));
  }
  await chrome.close();
  const p50 = percentile(bigPaints, 50);
  printTable(`Inspector first paint in headless Chromium (navigation → whole timeline drawn, p50 of ${ROUNDS})`, [
    { what: `session of ${PAINT_EVENTS} events`, value: p50, unit: "ms", limit: { what: "a 10-event session", value: percentile(smallPaints, 50) } },
    { what: `session of ${PAINT_EVENTS} events (max of ${ROUNDS}: ${fmt(Math.max(...bigPaints))} ms)`, value: p50, unit: "ms", goal: { text: `<= 1000 ms: ${p50 <= 1000 ? "met" : "NOT met"}` } },
  ]);
}

await Promise.all([off.server.stop(), on.server.stop()]);
await model.close();
await sink.close();
for (const d of dirs) await rm(d, { recursive: true, force: true });
