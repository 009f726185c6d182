/**
 * OMA's unary RPCs beside what the transport and a log a user could pick instead do, all
 * driven by the same grpc-js load generator in the same run: a bare grpc-js no-op server,
 * OMA's GetServerInfo (its own no-op), OMA's EmitEvent (fsync'd group commit) and a
 * single-node JetStream publish (file storage). Rates at concurrency 64 are the median of
 * alternating rounds, so that a change in machine load hits every target alike. Beside
 * them, calls answered per CPU-second of each server process (all its threads), summed over
 * those rounds: what a call costs the server itself, which the load of a shared host moves
 * much less than it moves a rate.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { GetServerInfoRequestSchema } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { EmitEventRequestSchema, SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { ServerProcess } from "@oma/server/dist/testing/server-process.js";
import { callsFor, callsPerSecond, grpcTarget, serialLatencies, type UnaryTarget } from "./grpc-load.js";
import { ownCpuSeconds } from "./proc-stat.js";
import { natsServerMissing, startGrpcNoop, startJetStream } from "./reference-servers.js";
import { percentile, printTable, type Row } from "./report.js";

const ROUNDS = 5;
const ROUND_MS = 600;
const WARMUP_ROUNDS = 2;
const LATENCY_MS = 1500;

const customEvent = (i: number) => create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { i } } } });

/** Measures every target against `server` (an OMA server process with a fresh data dir). */
export async function transportComparison(server: ServerProcess): Promise<void> {
  const address = new URL(server.url).host;
  const auth: Record<string, string> = server.adminToken ? { authorization: `Bearer ${server.adminToken}` } : {};
  const sessions = server.client(SessionService);
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push((await sessions.createSession({ agent: { model: "bench" } })).session!.sessionId);
  const emitBodies = ids.map((sessionId) => toBinary(EmitEventRequestSchema, create(EmitEventRequestSchema, { sessionId, event: customEvent(1) })));
  const payload = toBinary(EventSchema, customEvent(1));

  const noop = await startGrpcNoop();
  const missing = natsServerMissing();
  const jet = missing ? undefined : await startJetStream(payload);
  const targets: Record<string, UnaryTarget> = {
    bare: grpcTarget(noop.address, "/bench.v1.Noop/Call", [new Uint8Array(0)]),
    info: grpcTarget(address, "/oma.v1.ServerInfoService/GetServerInfo", [toBinary(GetServerInfoRequestSchema, create(GetServerInfoRequestSchema))], auth),
    emit: grpcTarget(address, "/oma.v1.SessionService/EmitEvent", emitBodies, auth),
    ...(jet ? { jet } : {}),
  };
  const pids: Record<string, number> = { bare: noop.pid, info: server.pid, emit: server.pid, ...(jet ? { jet: jet.pid } : {}) };
  // Warm up every connection and JIT before measuring: two rounds as measured ones run (a
  // shorter warm-up left the first measured rounds of every target at half speed).
  for (let r = 0; r < WARMUP_ROUNDS; r++) for (const t of Object.values(targets)) await callsPerSecond(64, (w) => t.call(w), ROUND_MS);

  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  const work: Record<string, { calls: number; cpuSeconds: number }> = Object.fromEntries(Object.keys(targets).map((k) => [k, { calls: 0, cpuSeconds: 0 }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, t] of Object.entries(targets)) {
      const cpu0 = ownCpuSeconds(pids[k]!);
      const { calls, seconds } = await callsFor(64, (w) => t.call(w), ROUND_MS);
      rounds[k]!.push(calls / seconds);
      work[k]!.calls += calls;
      work[k]!.cpuSeconds += ownCpuSeconds(pids[k]!) - cpu0;
    }
  }
  const rate = (k: string) => percentile(rounds[k]!, 50);
  const perCpu = (k: string) => work[k]!.calls / work[k]!.cpuSeconds;
  const latency: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(targets)) latency[k] = await serialLatencies((w) => t.call(w), LATENCY_MS);
  const p = (k: string, q: number) => percentile(latency[k]!, q);

  const bare = { what: "bare grpc-js no-op", value: rate("bare") };
  const info = { what: "OMA GetServerInfo", value: rate("info") };
  const rows: Row[] = [
    { what: "OMA GetServerInfo (no-op), c=64", value: rate("info"), unit: "calls/s", limit: bare, goal: { atLeast: 0.8 } },
    { what: "OMA EmitEvent (fsync'd), c=64", value: rate("emit"), unit: "calls/s", limit: info, goal: { atLeast: 0.8 } },
  ];
  if (jet) rows.push({ what: "OMA EmitEvent (fsync'd), c=64", value: rate("emit"), unit: "calls/s", limit: { what: "JetStream publish (1 node, file)", value: rate("jet") }, goal: { atLeast: 1.0 } });
  rows.push({ what: "  calls per server CPU-second: GetServerInfo", value: perCpu("info"), unit: "calls/CPU-s", limit: { what: "bare grpc-js", value: perCpu("bare") } });
  rows.push({ what: "  calls per server CPU-second: EmitEvent", value: perCpu("emit"), unit: "calls/CPU-s", limit: { what: "GetServerInfo", value: perCpu("info") } });
  if (jet) rows.push({ what: "  calls per server CPU-second: EmitEvent", value: perCpu("emit"), unit: "calls/CPU-s", limit: { what: "JetStream publish", value: perCpu("jet") } });
  for (const q of [50, 99]) {
    rows.push({ what: `OMA GetServerInfo, c=1 p${q}`, value: p("info", q), unit: "ms", limit: { what: `bare grpc-js no-op p${q}`, value: p("bare", q) } });
    rows.push({ what: `OMA EmitEvent (fsync'd), c=1 p${q}`, value: p("emit", q), unit: "ms", limit: { what: `OMA GetServerInfo p${q}`, value: p("info", q) } });
    if (jet) rows.push({ what: `OMA EmitEvent (fsync'd), c=1 p${q}`, value: p("emit", q), unit: "ms", limit: { what: `JetStream publish p${q}`, value: p("jet", q) } });
  }
  const perRound = Object.entries(rounds).map(([k, v]) => `${k} ${v.map((x) => x.toFixed(0)).join("/")}`).join("; ");
  printTable(`Unary calls through one grpc-js client, OMA beside the transport and JetStream (median of ${ROUNDS} alternating rounds of ${ROUND_MS} ms; rounds: ${perRound})`, rows);
  if (missing) console.log(`  JetStream publish not measured: ${missing}`);

  for (const t of Object.values(targets)) t.close();
  await noop.stop();
  await jet?.stop();
}
