/**
 * SessionService benchmark: OMA's unary calls beside a bare grpc-js server and a JetStream
 * publish (transport-comparison.ts), AppendEvents streams beside raw synced LevelDB batches,
 * durable EmitEvent throughput against the same server's no-op
 * RPC rate and the raw LevelDB synced-batch rate, watch delivery latency, slice cost on a
 * short vs a 1M-event log, and the server's memory with 10k idle sessions. Every figure is
 * printed beside a limit measured in this same run.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { AgentConfigSchema } from "@oma/client/gen/oma/v1/session_pb.js";
import { EmitEventRequestSchema, SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { createOmaClient } from "@oma/client/node";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { LevelSessionStore } from "@oma/server/dist/store/level-session-store.js";
import { startServerProcess } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { ClassicLevel } from "classic-level";
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { callsPerSecond, grpcTarget, type UnaryTarget } from "./grpc-load.js";
import { percentile, printTable, type Row } from "./report.js";
import { transportComparison } from "./transport-comparison.js";
import { streamedAppendRate } from "./streamed-appends.js";

const RUN_MS = 2500;
const event = (i: number) => create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { i } } } });

/** Calls `op` from `concurrency` loops for `ms`; returns completed calls per second. */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.replace(/\D+/g, "")) / 1024;
}

async function newServer(dataDir?: string, args: string[] = []) {
  const dir = dataDir ? undefined : await tempDir("oma-bench-");
  const server = await startServerProcess(dataDir ?? dir!.path, { env: { OMA_LOG_LEVEL: "error" }, args });
  return { server, sessions: server.client(SessionService), info: server.client(ServerInfoService), dir };
}

async function rawSyncedBatchRate(batchSize: number): Promise<number> {
  const dir = await tempDir("oma-bench-raw-");
  const db = new ClassicLevel<string, Uint8Array>(join(dir.path, "raw"), { valueEncoding: "view" });
  await db.open();
  const value = new Uint8Array(64).fill(7);
  let n = 0;
  const batches = await callsPerSecond(1, async () => {
    const b = db.batch();
    for (let i = 0; i < batchSize; i++) b.put(`k${(n++).toString(16).padStart(12, "0")}`, value);
    await b.write({ sync: true });
  }, RUN_MS);
  await db.close();
  await dir.remove();
  return batches;
}

async function emitThroughput(): Promise<void> {
  const { server, sessions, info, dir } = await newServer();
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push((await sessions.createSession({ agent: { model: "bench" } })).session!.sessionId);
  const raw1 = await rawSyncedBatchRate(1);
  const raw64 = await rawSyncedBatchRate(64);
  const rows: Row[] = [];
  for (const c of [1, 16, 64]) {
    let i = 0;
    // Alternating short rounds, so that a change in machine load hits both figures alike.
    const emitRounds: number[] = [];
    const noopRounds: number[] = [];
    for (let round = 0; round < 5; round++) {
      emitRounds.push(await callsPerSecond(c, (w) => sessions.emitEvent({ sessionId: ids[w % ids.length]!, event: event(i++) }), RUN_MS / 5));
      noopRounds.push(await callsPerSecond(c, () => info.getServerInfo({}), RUN_MS / 5));
    }
    const emits = percentile(emitRounds, 50);
    const noop = percentile(noopRounds, 50);
    rows.push({ what: `EmitEvent (durable) concurrency ${c}`, value: emits, unit: "ev/s", limit: { what: "GetServerInfo (no-op)", value: noop }, goal: c === 64 ? { atLeast: 0.8 } : undefined });
    rows.push({
      what: `EmitEvent (durable) concurrency ${c}`,
      value: emits,
      unit: "ev/s",
      limit: c === 1 ? { what: "raw synced batch of 1", value: raw1 } : { what: "raw synced batches of 64", value: raw64 * 64 },
    });
  }
  printTable("EmitEvent throughput (server child process, 8 sessions, synced group commit; median of 5 alternating rounds)", rows);
  await server.stop();
  await dir?.remove();
}

/**
 * What authentication costs an append (SEC-4): the same EmitEvent load against a server
 * that checks a client token on every call and one started with --auth none. A third
 * server, a twin of the first, is the run's own A/A control: the ratio of two identical
 * servers shows how much of a difference this machine can tell from noise.
 *
 * The load is the transport comparison's: one grpc-js channel sending pre-encoded
 * requests, the token in one prepared metadata, so the client costs the same against
 * each server and the ratio is the server's. (The SDK's own client, which spends about
 * twice the server's CPU on a call, shares this machine's two cores with the server:
 * measured with it, the ratio would be mostly the client's; it is printed for reference.)
 *
 * Two servers differ by more than their code: where their files landed, what their JIT
 * chose, when they collect garbage. So the three are started afresh for each of several
 * trials, take turns in rotating order (ABC, BCA, CAB, ...) within a trial, and every
 * figure is the median over the rounds of all trials: no one process decides it.
 */
async function authCost(): Promise<void> {
  const trials = Number(process.env.OMA_BENCH_AUTH_TRIALS ?? 4);
  const loads = ["grpc-js c=1", "grpc-js c=64", "@oma/client c=64"] as const;
  const rounds = new Map(loads.map((load) => [load, [[], [], []] as number[][]]));
  for (let trial = 0; trial < trials; trial++) {
    const trio = await authTrio();
    for (const load of loads) {
      const concurrency = load.endsWith("c=1") ? 1 : 64;
      const call = load.startsWith("grpc-js") ? trio.grpc : trio.sdk;
      for (let round = 0; round < 6; round++) {
        for (let k = 0; k < 3; k++) {
          const s = (round + k + trial) % 3;
          const sample = await callsPerSecond(concurrency, (w) => call[s]!(w), RUN_MS / 5);
          if (round > 0) rounds.get(load)![s]!.push(sample); // round 0 warms each server up
        }
      }
    }
    await trio.stop();
  }
  const rows: Row[] = [];
  for (const load of loads) {
    const [authed, open, twin] = rounds.get(load)!.map((r) => percentile(r, 50)) as [number, number, number];
    rows.push({ what: `EmitEvent with a client token, ${load}`, value: authed, unit: "ev/s", limit: { what: "same load, --auth none", value: open }, goal: load === "grpc-js c=64" ? { atLeast: 0.95 } : undefined });
    rows.push({ what: `  A/A control: its twin, ${load}`, value: twin, unit: "ev/s", limit: { what: "the same authenticated server", value: authed } });
  }
  printTable(`Authentication on EmitEvent (${trials} trials of three fresh server child processes, 8 sessions each; median of ${trials * 5} rounds in rotating order; the A/A row is the noise floor)`, rows);
}

/**
 * An authenticated server, one with --auth none and the first one's twin, 8 sessions on
 * each, and for each a grpc-js call and an SDK call emitting to them.
 */
async function authTrio() {
  const servers = [await newServer(), await newServer(undefined, ["--auth", "none"]), await newServer()];
  const grpc: ((worker: number) => Promise<unknown>)[] = [];
  const sdk: ((worker: number) => Promise<unknown>)[] = [];
  const targets: UnaryTarget[] = [];
  for (const [i, { server }] of servers.entries()) {
    let token: string | undefined;
    if (i !== 1) {
      const admin = createOmaClient({ baseUrl: server.url, token: server.adminToken });
      token = (await admin.tokens.createToken({ tenant: "bench", role: TokenRole.CLIENT })).bearerToken;
    }
    const sessions = createOmaClient({ baseUrl: server.url, token }).sessions;
    const ids: string[] = [];
    for (let n = 0; n < 8; n++) ids.push((await sessions.createSession({ agent: { model: "bench" } })).session!.sessionId);
    const bodies = ids.map((sessionId) => toBinary(EmitEventRequestSchema, create(EmitEventRequestSchema, { sessionId, event: event(0) })));
    const target = grpcTarget(new URL(server.url).host, "/oma.v1.SessionService/EmitEvent", bodies, token ? { authorization: `Bearer ${token}` } : {});
    targets.push(target);
    grpc.push((w) => target.call(w));
    let n = 0;
    sdk.push((w) => sessions.emitEvent({ sessionId: ids[w % 8]!, event: event(n++) }));
  }
  const stop = async () => {
    for (const target of targets) target.close();
    for (const s of servers) {
      await s.server.stop();
      await s.dir?.remove();
    }
  };
  return { grpc, sdk, stop };
}

async function watchLatency(): Promise<void> {
  const { server, sessions, dir } = await newServer();
  const sessionId = (await sessions.createSession({ agent: { model: "bench" } })).session!.sessionId;
  const abort = new AbortController();
  setMaxListeners(200, abort.signal);
  const latencies: number[] = [];
  /** Arrival after the emitter had its acknowledgement; 0 when the event arrived first. */
  const afterAck: number[] = [];
  const ackAt = new Map<number, number>();
  const arrivals: { sent: number; at: number }[] = [];
  let caughtUp = 0;
  const watchers = Array.from({ length: 100 }, async () => {
    try {
      for await (const res of sessions.watchEvents({ sessionId }, { signal: abort.signal })) {
        if (res.message.case === "caughtUp") caughtUp++;
        if (res.message.case === "event" && res.message.value.payload.case === "custom") {
          const sent = Number(res.message.value.payload.value.data?.["sent"]);
          const at = performance.now();
          latencies.push(at - sent);
          arrivals.push({ sent, at });
        }
      }
    } catch {
      // aborted at the end
    }
  });
  while (caughtUp < 100) await sleep(10);
  const emitRtt: number[] = [];
  const total = 500;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    // 100 events per second, on schedule.
    const due = start + i * 10;
    if (due > performance.now()) await sleep(due - performance.now());
    const sent = performance.now();
    await sessions.emitEvent({ sessionId, event: create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { sent } } } }) });
    const acked = performance.now();
    ackAt.set(sent, acked);
    emitRtt.push(acked - sent);
  }
  const deadline = performance.now() + 5000;
  while (latencies.length < total * 100 && performance.now() < deadline) await sleep(10);
  abort.abort();
  await Promise.all(watchers);
  for (const a of arrivals) afterAck.push(Math.max(0, a.at - (ackAt.get(a.sent) ?? a.at)));
  printTable(`Watch delivery, 100 watchers, 100 events/s for ${total / 100} s (${latencies.length} deliveries; emit to arrival, fsync included)`, [
    { what: "delivery latency p50", value: percentile(latencies, 50), unit: "ms", limit: { what: "EmitEvent round trip p50", value: percentile(emitRtt, 50) } },
    { what: "delivery latency p99", value: percentile(latencies, 99), unit: "ms", limit: { what: "EmitEvent round trip p99", value: percentile(emitRtt, 99) } },
    { what: "fan-out: arrival after the emitter's ack, p50", value: percentile(afterAck, 50), unit: "ms" },
    // The goal is defined from the acknowledgement to the watcher (the fsync is the append's cost, above).
    { what: "fan-out: arrival after the emitter's ack, p99", value: percentile(afterAck, 99), unit: "ms", goal: { text: `ack → watcher <= 5 ms: ${percentile(afterAck, 99) <= 5 ? "met" : "NOT met"}` } },
  ]);
  await server.stop();
  await dir?.remove();
}

async function sliceCost(): Promise<void> {
  const dir = await tempDir("oma-bench-slice-");
  await mkdir(join(dir.path, "leveldb"), { recursive: true });
  const db = new ClassicLevel<string, Uint8Array>(join(dir.path, "leveldb"), { valueEncoding: "view" });
  await db.open();
  const store = new LevelSessionStore(db, { sublevel: "session" });
  const small = "slice-1k";
  const big = "slice-1m";
  const buildStart = performance.now();
  for (const [id, n] of [[small, 1_000], [big, 1_000_000]] as const) {
    // The tenant of the server's admin token, which the measuring client uses.
    const ref = { tenant: "default", sessionId: id };
    await store.createSession({ ...ref, labels: {}, agent: create(AgentConfigSchema, { model: "bench" }) });
    const batch = 10_000;
    for (let at = 0; at < n; at += batch) {
      await store.append(ref, Array.from({ length: Math.min(batch, n - at) }, (_, k) => event(at + k)));
    }
  }
  await store.close();
  await db.compactRange("\x00", "\xff");
  await db.close();
  const buildSeconds = (performance.now() - buildStart) / 1000;
  const { server, sessions } = await newServer(dir.path);
  const measure = async (sessionId: string, head: number) => {
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const afterSeq = BigInt(Math.floor(Math.random() * (head - 100)));
      const t = performance.now();
      const res = await sessions.getEvents({ sessionId, afterSeq, limit: 100 });
      samples.push(performance.now() - t);
      if (res.events.length !== 100) throw new Error("short slice");
    }
    return samples;
  };
  await measure(small, 1_000); // warm up both paths
  await measure(big, 1_000_000);
  const s1k = await measure(small, 1_000);
  const s1m = await measure(big, 1_000_000);
  printTable(`GetEvents(limit 100) at random positions, 3000 calls each (1M log built in ${buildSeconds.toFixed(1)} s)`, [
    { what: "1M-event log, p50", value: percentile(s1m, 50), unit: "ms", limit: { what: "1k-event log p50", value: percentile(s1k, 50) }, goal: { atMost: 1.2 } },
    { what: "1M-event log, p99", value: percentile(s1m, 99), unit: "ms", limit: { what: "1k-event log p99", value: percentile(s1k, 99) } },
  ]);
  await server.stop();
  await dir.remove();
}

/**
 * How long the memory figures wait with the server idle. V8 keeps the heap pages a burst of
 * RPCs grew into until its memory reducer runs, which it does once allocation has stayed
 * low for a while (measured here: 20-25 s after 20k creating RPCs); only then is what the
 * RSS shows what the idle sessions cost.
 */
const REST_MS = 40_000;

/** RSS right away, and after REST_MS with nothing happening (the figure the goal is about). */
async function rssNowAndAtRest(pid: number): Promise<{ now: number; atRest: number }> {
  const now = rssMb(pid);
  await sleep(REST_MS);
  return { now, atRest: rssMb(pid) };
}

const goal200 = (mb: number) => ({ text: `<= 200 MB: ${mb <= 200 ? "met" : "NOT met"}` });

async function idleSessionsMemory(): Promise<void> {
  let { server, sessions, dir } = await newServer();
  await sessions.getSession({ sessionId: "warm-up" }).catch(() => undefined);
  await sleep(1000);
  const baseline = rssMb(server.pid);
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (ids.length < 10_000) {
        const { session } = await sessions.createSession({ agent: { model: "bench", systemPrompt: "You are a helpful agent." }, labels: { bench: "idle" } });
        ids.push(session!.sessionId);
        await sessions.emitEvent({ sessionId: session!.sessionId, event: event(1) });
      }
    }),
  );
  const created = await rssNowAndAtRest(server.pid);
  // A restarted server that has loaded every session once: what the sessions cost without
  // anything the 20k creating RPCs left behind.
  await server.stop();
  ({ server, sessions } = await newServer(dir!.path));
  await sleep(1000);
  const restartBaseline = rssMb(server.pid);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) await sessions.getSession({ sessionId: ids[next++]! });
  }));
  const loaded = await rssNowAndAtRest(server.pid);
  const rest = `${REST_MS / 1000} s idle`;
  printTable("Server memory with 10k idle sessions (child process RSS from /proc)", [
    { what: `created 10k (1 event each), after ${rest}`, value: created.atRest, unit: "MB", goal: goal200(created.atRest) },
    { what: `created 10k, after ${rest}`, value: created.atRest, unit: "MB", limit: { what: "same server before", value: baseline } },
    { what: "created 10k, right after the last RPC", value: created.now, unit: "MB", limit: { what: "same server before", value: baseline } },
    { what: `restarted, 10k loaded, after ${rest}`, value: loaded.atRest, unit: "MB", goal: goal200(loaded.atRest) },
    { what: `restarted, 10k loaded, after ${rest}`, value: loaded.atRest, unit: "MB", limit: { what: "restarted server before loading", value: restartBaseline } },
    { what: "restarted, 10k loaded, right after the last RPC", value: loaded.now, unit: "MB", limit: { what: "restarted server before loading", value: restartBaseline } },
  ]);
  await server.stop();
  await dir?.remove();
}

/** AppendEvents streams (SESS-22): durable events per second beside raw synced LevelDB batches, in alternating rounds. */
async function streamedAppends(): Promise<void> {
  const { server, sessions, dir } = await newServer();
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push((await sessions.createSession({ agent: { model: "bench" } })).session!.sessionId);
  const target = { address: new URL(server.url).host, headers: { authorization: `Bearer ${server.adminToken}` }, sessionIds: ids };
  const rows: Row[] = [];
  for (const eventsPerRequest of [1, 16, 64]) {
    const streamed: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < 3; round++) {
      streamed.push(await streamedAppendRate({ ...target, eventsPerRequest, window: 256, ms: RUN_MS / 2 }));
      raw.push((await rawSyncedBatchRate(64)) * 64);
    }
    const rate = percentile(streamed, 50);
    rows.push({ what: `AppendEvents, ${eventsPerRequest} event(s) a request, 8 streams`, value: rate, unit: "ev/s", limit: { what: "raw synced batches of 64", value: percentile(raw, 50) }, goal: { atLeast: 0.3 } });
    rows.push({ what: `AppendEvents, ${eventsPerRequest} event(s) a request, 8 streams`, value: rate, unit: "ev/s", goal: { text: `>= 50k events/s durable: ${rate >= 50_000 ? "met" : "NOT met"}` } });
  }
  printTable("Streamed appends (server child process, 8 sessions, 256 requests in flight a stream; median of 3 alternating rounds)", rows);
  await server.stop();
  await dir?.remove();
}

async function transport(): Promise<void> {
  const { server, dir } = await newServer();
  await transportComparison(server);
  await server.stop();
  await dir?.remove();
}

// OMA_BENCH_SESSION_PARTS picks parts (comma-separated; default all, in this order).
const PARTS: Record<string, () => Promise<void>> = { transport, appends: streamedAppends, emit: emitThroughput, auth: authCost, watch: watchLatency, slice: sliceCost, memory: idleSessionsMemory };
const chosen = (process.env["OMA_BENCH_SESSION_PARTS"] ?? Object.keys(PARTS).join(",")).split(",").map((p) => p.trim());
for (const part of chosen) if (!PARTS[part]) throw new Error(`OMA_BENCH_SESSION_PARTS: no part "${part}" (parts: ${Object.keys(PARTS).join(", ")})`);
const started = performance.now();
for (const part of chosen) await PARTS[part]!();
console.log(`\nsession bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
