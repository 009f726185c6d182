import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventPayloadInit } from "./emit.js";
import { OmaRpcError } from "./errors.js";
import { createOmaClient as createBrowserClient } from "./index.js";
import { createOmaClient, type OmaNodeClientOptions } from "./node.js";
import { haveServerBuild, startServerProcess, type ServerProcess } from "./testing/server-process.js";

// The SDK against the reference server running as a real process, which the tests kill
// with SIGKILL and start again on the same port and data directory.
if (!haveServerBuild) console.warn("!!! SKIPPED SDK end-to-end tests because server/dist is not built (run `npx tsc -b`; npm test does)");

const fast = { initialDelayMs: 20, maxDelayMs: 200 };
const custom = (n: number): EventPayloadInit => ({ case: "custom", value: { type: `sdk-e2e-${n}` } });
let unique = 0;
const sessionId = () => `sdk-e2e-${process.pid}-${Date.now()}-${++unique}`;

describe.skipIf(!haveServerBuild)("TypeScript SDK against a server that crashes and comes back", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const client = (options: Partial<OmaNodeClientOptions> = {}) => createOmaClient({ baseUrl: server.url, token: server.token, ...options });

  it.each(["grpc", "connect"] as const)("a watch cut by SIGKILL of the server resumes after its last seq with no loss and no duplicate (SESS-12, %s)", async (protocol) => {
    const oma = client({ protocol });
    const id = sessionId();
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    for (let n = 1; n <= 3; n++) await oma.sessions.emit(id, custom(n));

    const seen: number[] = [];
    let reconnects = 0;
    const abort = new AbortController();
    const watching = (async () => {
      for await (const e of oma.sessions.watch(id, { signal: abort.signal, backoff: fast, onReconnect: () => reconnects++ })) seen.push(Number(e.seq));
    })();
    try {
      await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(3);
      await server.kill();
      await server.restart();
      for (let n = 4; n <= 6; n++) await oma.sessions.emit(id, custom(n), { backoff: fast, maxAttempts: 20 });
      await expect.poll(() => seen.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
      expect(reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      abort.abort();
      await watching;
    }
  });

  it("an emit whose acknowledgement is lost is retried under the same key and stored once (SESS-3)", async () => {
    let emitCalls = 0;
    const loseFirstAck: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (req.method.name === "EmitEvent" && ++emitCalls === 1) throw new ConnectError("acknowledgement lost on the way back", Code.Unavailable);
      return res;
    };
    const oma = client({ interceptors: [loseFirstAck] });
    const id = sessionId();
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    const res = await oma.sessions.emit(id, custom(1), { backoff: fast });
    expect(emitCalls).toBe(2);
    expect(res.duplicate).toBe(true);
    expect(res.event?.seq).toBe(1n);
    const log = await oma.sessions.getEvents({ sessionId: id });
    expect(log.events.map((e) => e.payload.case === "custom" && e.payload.value.type)).toEqual(["sdk-e2e-1"]);
  });

  it("an emit made while the server is down keeps retrying and lands exactly once when it is back", async () => {
    let attempts = 0;
    const count: Interceptor = (next) => async (req) => {
      if (req.method.name === "EmitEvent") attempts++;
      return next(req);
    };
    const oma = client({ interceptors: [count] });
    const id = sessionId();
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    await server.kill();
    const emitting = oma.sessions.emit(id, custom(1), { backoff: fast, maxAttempts: 200 });
    await expect.poll(() => attempts, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await server.restart();
    const res = await emitting;
    expect(res.event?.seq).toBe(1n);
    const log = await oma.sessions.getEvents({ sessionId: id });
    expect(log.events).toHaveLength(1);
  });

  it.each(["grpc", "connect", "grpc-web"] as const)("errors arrive typed with their reason over %s (WIRE-3)", async (protocol) => {
    const err = await client({ protocol })
      .sessions.getSession({ sessionId: sessionId() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmaRpcError);
    expect((err as OmaRpcError).code).toBe(Code.NotFound);
    expect((err as OmaRpcError).reason).toBe("SESSION_NOT_FOUND");
  });

  it.each(["connect", "grpc-web"] as const)("the browser entry (Fetch API) emits and watches over %s", async (protocol) => {
    const oma = createBrowserClient({ baseUrl: server.url, token: server.token, protocol });
    const id = sessionId();
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    await oma.sessions.emitBatch(id, [custom(1), custom(2)]);
    const seen: bigint[] = [];
    for await (const e of oma.sessions.watch(id)) {
      seen.push(e.seq);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1n, 2n]);
  });

  it("a watcher that falls behind is ended with WATCHER_TOO_SLOW and resumes with every event once (SESS-13)", async () => {
    const oma = client();
    const info = await oma.serverInfo.getServerInfo({});
    const lag = Number(info.limits?.maxWatchLagEvents ?? 10_000);
    const id = sessionId();
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    await oma.sessions.emit(id, custom(0));
    const reasons: string[] = [];
    const watch = oma.sessions.watch(id, { backoff: fast, onReconnect: (r) => reasons.push(r.error instanceof OmaRpcError ? r.error.reason : String(r.error)) });
    const first = await watch.next();
    expect(first.value?.seq).toBe(1n);
    // While the caller holds on to the first event, the log grows past the lag bound; the
    // padding fills the transport's flow-control window so the server's queue backs up.
    const padding = "x".repeat(1024);
    const total = lag + 600;
    for (let next = 2; next <= total; ) {
      const batch = Array.from({ length: Math.min(200, total - next + 1) }, () => ({ case: "custom" as const, value: { type: "pad", data: { fields: { p: { kind: { case: "stringValue" as const, value: padding } } } } } }));
      await oma.sessions.emitBatch(id, batch);
      next += batch.length;
    }
    const seqs: number[] = [1];
    while (seqs.length < total) {
      const r = await watch.next();
      if (r.done) break;
      seqs.push(Number(r.value.seq));
    }
    await watch.return();
    expect(reasons).toContain("WATCHER_TOO_SLOW");
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
