/**
 * SessionService benchmark: OMA's unary calls beside a bare grpc-js server and a JetStream
 * publish (transport-comparison.ts), AppendEvents streams beside raw synced LevelDB batches,
 * durable EmitEvent throughput against the same server's no-op
 * RPC rate and the raw LevelDB synced-batch rate, watch delivery latency, slice cost on a
 * short vs a 1M-event log, and the server's memory with 10k idle sessions. Every figure is
 * printed beside a limit measured in this same run.
 */
import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { AgentConfigSchema } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
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
import { percentile, printTable, type Row } from "./report.js";
import { transportComparison } from "./transport-comparison.js";
import { streamedAppendRate } from "./streamed-appends.js";

const RUN_MS = 2500;
const event = (i: number) => create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { i } } } });

/** Calls `op` from `concurrency` loops for `ms`; returns completed calls per second. */
async function rate(concurrency: number, op: (worker: number) => Promise<unknown>, ms = RUN_MS): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

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
  const batches = await rate(1, async () => {
    const b = db.batch();
    for (let i = 0; i < batchSize; i++) b.put(`k${(n++).toString(16).padStart(12, "0")}`, value);
    await b.write({ sync: true });
  });
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
      emitRounds.push(await rate(c, (w) => sessions.emitEvent({ sessionId: ids[w % ids.length]!, event: event(i++) }), RUN_MS / 5));
      noopRounds.push(await rate(c, () => info.getServerInfo({}), RUN_MS / 5));
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
 * servers shows how much of a difference this machine can tell from noise. The three take
 * turns in rotating order (ABC, BCA, CAB, ...), so neither the machine's load nor going
 * first favours one of them.
 */
async function authCost(): Promise<void> {
  const clientOf = async (server: Awaited<ReturnType<typeof newServer>>["server"], authed: boolean) => {
    if (!authed) return createOmaClient({ baseUrl: server.url }).sessions;
    const admin = createOmaClient({ baseUrl: server.url, token: server.adminToken });
    const { bearerToken } = await admin.tokens.createToken({ tenant: "bench", role: TokenRole.CLIENT });
    return createOmaClient({ baseUrl: server.url, token: bearerToken }).sessions;
  };
  const servers = [await newServer(), await newServer(undefined, ["--auth", "none"]), await newServer()];
  const clients = [await clientOf(servers[0]!.server, true), await clientOf(servers[1]!.server, false), await clientOf(servers[2]!.server, true)];
  const sessionsOf = async (client: (typeof clients)[number]) => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await client.createSession({ agent: { model: "bench" } })).session!.sessionId);
    return ids;
  };
  const ids = [await sessionsOf(clients[0]!), await sessionsOf(clients[1]!), await sessionsOf(clients[2]!)];
  const rows: Row[] = [];
  for (const c of [1, 64]) {
    let i = 0;
    const rounds: number[][] = [[], [], []];
    for (let round = 0; round < 9; round++) {
      for (let k = 0; k < 3; k++) {
        const s = (round + k) % 3;
        rounds[s]!.push(await rate(c, (w) => clients[s]!.emitEvent({ sessionId: ids[s]![w % 8]!, event: event(i++) }), RUN_MS / 5));
      }
    }
    const [authed, open, twin] = rounds.map((r) => percentile(r, 50)) as [number, number, number];
    rows.push({ what: `EmitEvent with a client token, concurrency ${c}`, value: authed, unit: "ev/s", limit: { what: "same load, --auth none", value: open }, goal: c === 64 ? { atLeast: 0.95 } : undefined });
    rows.push({ what: `  A/A control: its twin, concurrency ${c}`, value: twin, unit: "ev/s", limit: { what: "the same authenticated server", value: authed } });
  }
  printTable("Authentication on EmitEvent (three server child processes, 8 sessions each; median of 9 rounds in rotating order; the A/A row is the noise floor)", rows);
  for (const s of servers) {
    await s.server.stop();
    await s.dir?.remove();
  }
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
  for (const eventsPerRequest of [1, 16]) {
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
