/**
 * The session log on a 3-node NATS JetStream cluster (R3): EmitEvent at concurrency 64 on
 * it beside the same load on a LevelDB server and beside raw JetStream publishes to the
 * same cluster; watch delivery across two servers beside the same watcher on the writing
 * server; Wake → first model request when the woken server has no worker and the brain runs
 * on a worker of the other server, beside a Wake on the server whose worker runs it; Execute
 * in a sandbox through another server than its own (forwarded), beside the same call
 * through its own server. Every figure is printed beside its reference measured in the
 * same run.
 */
import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsCluster, natsUnavailable, TEST_VAULT_KEY } from "@oma/server/dist/testing/nats-cluster.js";
import { startServerProcess, type ServerProcess } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { alternate, percentile, preciseNow, printTable, type Row } from "./report.js";

const ROUND_MS = 600;
const ROUNDS = 5;
const C = 64;
const event = (i: number) => create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { i } } } });

async function rate(concurrency: number, op: (worker: number) => Promise<unknown>, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    while (performance.now() < end) {
      await op(w);
      done++;
    }
  }));
  return done / ((performance.now() - start) / 1000);
}

async function server(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ process: ServerProcess; remove(): Promise<void> }> {
  const dir = await tempDir("oma-bench-js-");
  const process = await startServerProcess(dir.path, { env: { OMA_LOG_LEVEL: "error", OMA_VAULT_KEY: TEST_VAULT_KEY, ...env }, args: ["--auth", "none", "--workers", "0", ...args] });
  return { process, remove: async () => (await process.stop(), await dir.remove()) };
}

async function sessionsOn(p: ServerProcess, n: number): Promise<string[]> {
  const client = p.client(SessionService);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await client.createSession({ agent: { model: "bench" } })).session!.sessionId);
  return ids;
}

async function emitThroughput(cluster: NatsCluster): Promise<void> {
  const onJs = await server(["--store", cluster.url]);
  const onLevel = await server([]);
  const nc = await connect({ servers: cluster.url.split(",") });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "BENCH_RAW", subjects: ["bench.raw.>"], num_replicas: 3 });
  const js = jetstream(nc);
  const [jsIds, levelIds] = [await sessionsOn(onJs.process, 8), await sessionsOn(onLevel.process, 8)];
  const jsClient = onJs.process.client(SessionService);
  const levelClient = onLevel.process.client(SessionService);
  const payload = new TextEncoder().encode(JSON.stringify({ type: "bench", data: { i: 0 } }));
  let i = 0;
  const rounds = { js: [] as number[], level: [] as number[], raw: [] as number[] };
  // Alternating short rounds, so that a change in machine load hits every figure alike.
  for (let r = 0; r < ROUNDS; r++) {
    rounds.js.push(await rate(C, (w) => jsClient.emitEvent({ sessionId: jsIds[w % 8]!, event: event(i++) }), ROUND_MS));
    rounds.level.push(await rate(C, (w) => levelClient.emitEvent({ sessionId: levelIds[w % 8]!, event: event(i++) }), ROUND_MS));
    rounds.raw.push(await rate(C, (w) => js.publish(`bench.raw.s${w % 8}`, payload), ROUND_MS));
  }
  const [onJetStream, onLevelDb, raw] = [percentile(rounds.js, 50), percentile(rounds.level, 50), percentile(rounds.raw, 50)];
  const rows: Row[] = [
    { what: `EmitEvent on JetStream R3, concurrency ${C}`, value: onJetStream, unit: "ev/s", limit: { what: "same load on LevelDB", value: onLevelDb } },
    { what: `EmitEvent on JetStream R3, concurrency ${C}`, value: onJetStream, unit: "ev/s", limit: { what: "raw JetStream publish (R3)", value: raw } },
  ];
  printTable(`EmitEvent throughput (server child processes, 8 sessions; median of ${ROUNDS} alternating rounds)`, rows);
  await jsm.streams.delete("BENCH_RAW");
  await nc.close();
  await onJs.remove();
  await onLevel.remove();
}

/** Latency from the start of an EmitEvent on server A to its arrival at a watcher on `watchOn`. */
async function watchDelivery(a: ServerProcess, watchOn: ServerProcess, samples: number): Promise<number[]> {
  const sessionId = (await sessionsOn(a, 1))[0]!;
  const sent = new Map<number, number>();
  const latencies: number[] = [];
  const abort = new AbortController();
  let caughtUp!: () => void;
  const ready = new Promise<void>((r) => (caughtUp = r));
  const watching = (async () => {
    try {
      for await (const res of watchOn.client(SessionService).watchEvents({ sessionId }, { signal: abort.signal })) {
        if (res.message.case === "caughtUp") caughtUp();
        if (res.message.case !== "event") continue;
        const t = sent.get(Number(res.message.value.seq));
        if (t !== undefined) latencies.push(performance.now() - t);
        if (latencies.length === samples) return;
      }
    } catch {
      // aborted
    }
  })();
  await ready;
  const emitter = a.client(SessionService);
  for (let i = 1; i <= samples; i++) {
    const t = performance.now();
    sent.set(i, t);
    await emitter.emitEvent({ sessionId, event: event(i) });
    await sleep(5);
  }
  await Promise.race([watching, sleep(10_000)]);
  abort.abort();
  return latencies;
}

async function crossServerWatch(cluster: NatsCluster): Promise<void> {
  const a = await server(["--store", cluster.url]);
  const b = await server(["--store", cluster.url]);
  const same: number[] = [];
  const across: number[] = [];
  for (let r = 0; r < 3; r++) {
    same.push(...(await watchDelivery(a.process, a.process, 100)));
    across.push(...(await watchDelivery(a.process, b.process, 100)));
  }
  printTable("WatchEvents delivery, EmitEvent start → event at the watcher (JetStream R3, 300 events each, 5 ms apart)", [
    { what: "p50, watcher on the other server", value: percentile(across, 50), unit: "ms", limit: { what: "watcher on the writing server", value: percentile(same, 50) } },
    { what: "p99, watcher on the other server", value: percentile(across, 99), unit: "ms", limit: { what: "watcher on the writing server", value: percentile(same, 99) } },
  ]);
  await a.remove();
  await b.remove();
}

/** Wake through `wakeOn` → the session's first request at the scripted model, in ms; waits for the turn to end. */
async function wakeToFirstRequest(model: ScriptedModel, wakeOn: ServerProcess, readOn: ServerProcess): Promise<number> {
  const sessions = wakeOn.client(SessionService);
  const { session } = await sessions.createSession({ agent: { model: "scripted" } });
  const sessionId = session!.sessionId;
  await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: sessionId } } }] } } } });
  const seen = model.requests.length;
  const t0 = preciseNow();
  await wakeOn.client(HarnessService).wake({ sessionId });
  for (let i = 0; i < 2000; i++) {
    const first = model.requests.slice(seen).find((r) => JSON.stringify(r.body.messages).includes(sessionId));
    const { session: now } = await readOn.client(SessionService).getSession({ sessionId });
    if (first && now?.status === SessionStatus.IDLE && !now.lease) return first.receivedAt - t0;
    await sleep(5);
  }
  throw new Error(`session ${sessionId} never finished`);
}

async function crossServerWake(cluster: NatsCluster): Promise<void> {
  const model = await startScriptedModel({ script: byStep([], { content: [{ type: "text", text: "ok" }] }) });
  const env = { ANTHROPIC_API_KEY: "bench", ANTHROPIC_BASE_URL: model.url };
  // A has no worker; B has one. A's dispatcher and B's sweep the dispatch records every second.
  const a = await server(["--store", cluster.url, "--sandbox-backend", "process"], env);
  const b = await server(["--store", cluster.url, "--sandbox-backend", "process", "--workers", "1"], env);
  const local: number[] = [];
  const across: number[] = [];
  await wakeToFirstRequest(model, b.process, b.process);
  for (let i = 0; i < 10; i++) {
    local.push(await wakeToFirstRequest(model, b.process, b.process));
    across.push(await wakeToFirstRequest(model, a.process, b.process));
  }
  printTable("Wake → first model request (JetStream R3, 10 Wakes each, alternating; the brain always runs on server B's worker)", [
    { what: "p50, Wake on server A (no worker)", value: percentile(across, 50), unit: "ms", limit: { what: "Wake on server B (its worker)", value: percentile(local, 50) } },
    { what: "max, Wake on server A (no worker)", value: Math.max(...across), unit: "ms", limit: { what: "Wake on server B (its worker)", value: Math.max(...local) } },
  ]);
  await a.remove();
  await b.remove();
  await model.close();
}

/** Execute through the sandbox's own server, beside the same call through another server that forwards it (SBX-17). */
async function crossServerExecute(cluster: NatsCluster): Promise<void> {
  const a = await server(["--store", cluster.url, "--sandbox-backend", "process"]);
  const b = await server(["--store", cluster.url, "--sandbox-backend", "process"]);
  const onA = a.process.client(SandboxService);
  const onB = b.process.client(SandboxService);
  const { sandbox } = await onA.provision({ resources: {} });
  const sandboxId = sandbox!.sandboxId;
  const timed = (client: typeof onA, name: string, input: Record<string, string>) => async () => {
    const t = performance.now();
    await client.execute({ sandboxId, name, input });
    return performance.now() - t;
  };
  await onA.execute({ sandboxId, name: "write_file", input: { path: "f.txt", content: "x".repeat(1000) } });
  const [bashA, bashB] = await alternate(100, timed(onA, "bash", { command: "true" }), timed(onB, "bash", { command: "true" }));
  const [readA, readB] = await alternate(100, timed(onA, "read_file", { path: "f.txt" }), timed(onB, "read_file", { path: "f.txt" }));
  printTable("Execute in a sandbox of server A (process backend, JetStream R3, 100 calls each, alternating)", [
    { what: "bash `true` p50, through server B (forwarded)", value: percentile(bashB, 50), unit: "ms", limit: { what: "through server A", value: percentile(bashA, 50) } },
    { what: "bash `true` p99, through server B (forwarded)", value: percentile(bashB, 99), unit: "ms", limit: { what: "through server A", value: percentile(bashA, 99) } },
    { what: "read_file 1 KB p50, through server B (forwarded)", value: percentile(readB, 50), unit: "ms", limit: { what: "through server A", value: percentile(readA, 50) } },
  ]);
  await onA.destroySandbox({ sandboxId });
  await a.remove();
  await b.remove();
}

const missing = natsUnavailable();
if (missing) {
  console.log(`SKIPPED: ${missing}`);
} else {
  const cluster = await NatsCluster.start(3);
  try {
    await emitThroughput(cluster);
    await crossServerWatch(cluster);
    await crossServerWake(cluster);
    await crossServerExecute(cluster);
  } finally {
    await cluster.stop();
  }
}
