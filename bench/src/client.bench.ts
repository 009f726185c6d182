/**
 * Client SDK benchmark: what the TypeScript SDK's helpers cost over the generated client
 * on the same server (emit with its idempotency key and error interceptor; the resuming
 * watch), and how long a watch takes to deliver again after the server is SIGKILLed and
 * restarted on the same port and data. Every figure is printed beside a limit measured in
 * this same run.
 */
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { createOmaClient as createBrowserClient } from "@oma/client";
import { createOmaClient, newIdempotencyKey, type EventPayloadInit } from "@oma/client/node";
import { startServerProcess, type ServerProcess } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { performance } from "node:perf_hooks";
import { percentile, printTable } from "./report.js";

const payload = (i: number): EventPayloadInit => ({ case: "custom", value: { type: "bench", data: { fields: { i: { kind: { case: "numberValue", value: i } } } } } });
const env = { OMA_LOG_LEVEL: "error" };

async function emitOverhead(server: ServerProcess): Promise<void> {
  const oma = createOmaClient({ baseUrl: server.url, token: server.adminToken });
  const raw = server.client(SessionService);
  const { session } = await oma.sessions.createSession({ agent: { model: "bench" } });
  const id = session!.sessionId;
  // Warm-up: both connections open and both code paths compiled before timing.
  for (let i = 0; i < 20; i++) {
    await oma.sessions.emit(id, payload(-1));
    await raw.emitEvent({ sessionId: id, event: { payload: payload(-1) }, idempotencyKey: newIdempotencyKey() });
  }
  const sdk: number[] = [];
  const plain: number[] = [];
  // Alternating rounds, so that a change in machine load hits both figures alike.
  for (let round = 0, i = 0; round < 10; round++) {
    for (let k = 0; k < 50; k++, i++) {
      const t = performance.now();
      await oma.sessions.emit(id, payload(i));
      sdk.push(performance.now() - t);
    }
    for (let k = 0; k < 50; k++, i++) {
      const t = performance.now();
      await raw.emitEvent({ sessionId: id, event: { payload: payload(i) }, idempotencyKey: newIdempotencyKey() });
      plain.push(performance.now() - t);
    }
  }
  printTable("SDK emit (idempotency key, retry wrapper, error interceptor) vs the generated client, gRPC", [
    { what: "sessions.emit p50", value: percentile(sdk, 50), unit: "ms", limit: { what: "generated emitEvent p50", value: percentile(plain, 50) }, goal: { atMost: 1.15 } },
    { what: "sessions.emit p99", value: percentile(sdk, 99), unit: "ms", limit: { what: "generated emitEvent p99", value: percentile(plain, 99) }, goal: { atMost: 1.5 } },
  ]);
}

/**
 * One port serves gRPC (HTTP/2) and Connect / gRPC-Web (HTTP/1.1): a unary call over each
 * protocol beside the same call over gRPC. A reply split in small writes that waits for
 * the peer's delayed ACK shows here as ~40 ms.
 */
async function protocolOverhead(server: ServerProcess): Promise<void> {
  const clients = {
    grpc: createOmaClient({ baseUrl: server.url, token: server.adminToken }),
    "connect (node, HTTP/1.1)": createOmaClient({ baseUrl: server.url, token: server.adminToken, protocol: "connect" }),
    "connect (fetch)": createBrowserClient({ baseUrl: server.url, token: server.adminToken }),
    "grpc-web (fetch)": createBrowserClient({ baseUrl: server.url, token: server.adminToken, protocol: "grpc-web" }),
  };
  const samples = new Map<string, number[]>(Object.keys(clients).map((k) => [k, []]));
  for (let round = 0; round < 20; round++) {
    for (const [name, oma] of Object.entries(clients)) {
      for (let k = 0; k < (round === 0 ? 5 : 25); k++) {
        const t = performance.now();
        await oma.serverInfo.getServerInfo({});
        if (round > 0) samples.get(name)!.push(performance.now() - t);
      }
    }
  }
  const grpc = percentile(samples.get("grpc")!, 50);
  printTable("Unary GetServerInfo per protocol vs the same call over gRPC, one port", [
    { what: "grpc p50", value: grpc, unit: "ms" },
    ...[...samples].filter(([name]) => name !== "grpc").map(([name, s]) => ({ what: `${name} p50`, value: percentile(s, 50), unit: "ms", limit: { what: "grpc p50", value: grpc }, goal: { atMost: 2 } })),
  ]);
}

/** Milliseconds from starting an emit to the watch yielding that event, `n` times. */
async function deliveryLatencies(next: () => Promise<unknown>, emit: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const pending = next();
    const t = performance.now();
    await emit();
    await pending;
    out.push(performance.now() - t);
  }
  return out;
}

async function watchOverhead(server: ServerProcess): Promise<void> {
  const oma = createOmaClient({ baseUrl: server.url, token: server.adminToken });
  const raw = server.client(SessionService);
  const id = (await oma.sessions.createSession({ agent: { model: "bench" } })).session!.sessionId;
  const abort = new AbortController();
  const sdkWatch = oma.sessions.watch(id, { signal: abort.signal });
  const rawWatch = raw.watchEvents({ sessionId: id }, { signal: abort.signal })[Symbol.asyncIterator]();
  const rawNextEvent = async () => {
    for (;;) if ((await rawWatch.next()).value?.message.case === "event") return;
  };
  let i = 0;
  const emit = () => raw.emitEvent({ sessionId: id, event: { payload: payload(i++) } });
  // Both streams see every event; each is timed on its own emits, in alternating rounds.
  const sdk: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < 5; round++) {
    sdk.push(...(await deliveryLatencies(async () => ((await sdkWatch.next()), await rawNextEvent()), emit, 40)));
    plain.push(...(await deliveryLatencies(async () => ((await rawNextEvent()), await sdkWatch.next()), emit, 40)));
  }
  abort.abort();
  printTable("SDK watch (resuming iterator) vs the generated stream: emit started → event delivered, gRPC", [
    { what: "sessions.watch delivery p50 (both streams read)", value: percentile(sdk, 50), unit: "ms", limit: { what: "generated watchEvents p50", value: percentile(plain, 50) }, goal: { atMost: 1.2 } },
  ]);
}

async function resumeAfterRestart(): Promise<void> {
  const dir = await tempDir("oma-bench-client-");
  let server: ServerProcess = await startServerProcess(dir.path, { env });
  const port = new URL(server.url).port;
  const oma = createOmaClient({ baseUrl: server.url, token: server.adminToken });
  const id = (await oma.sessions.createSession({ agent: { model: "bench" } })).session!.sessionId;
  const abort = new AbortController();
  const watch = oma.sessions.watch(id, { signal: abort.signal });
  const restarts: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < 5; i++) {
    await oma.sessions.emit(id, payload(i));
    await watch.next();
    const killed = performance.now();
    await server.kill();
    server = await startServerProcess(dir.path, { env, args: ["--port", port] });
    const ready = performance.now();
    restarts.push(ready - killed);
    const pending = watch.next();
    await oma.sessions.emit(id, payload(100 + i), { maxAttempts: 50 });
    await pending;
    resumes.push(performance.now() - ready);
    await oma.sessions.emit(id, payload(200 + i));
    await watch.next();
  }
  abort.abort();
  await server.stop();
  await dir.remove();
  printTable("Watch resume after SIGKILL and restart of the server (same port and data), 5 restarts", [
    { what: "server ready → next event delivered, p50", value: percentile(resumes, 50), unit: "ms", limit: { what: "kill → server ready p50", value: percentile(restarts, 50) }, goal: { text: "backoff ceiling 5 s" } },
    { what: "server ready → next event delivered, max", value: Math.max(...resumes), unit: "ms", goal: { text: "<= 5000 ms (backoff ceiling)" } },
  ]);
}

const started = performance.now();
const dir = await tempDir("oma-bench-client-");
const server = await startServerProcess(dir.path, { env });
await emitOverhead(server);
await protocolOverhead(server);
await watchOverhead(server);
await server.stop();
await dir.remove();
await resumeAfterRestart();
console.log(`\nclient bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
