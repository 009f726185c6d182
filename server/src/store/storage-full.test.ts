import { Code, createClient } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { rpcRejection } from "../testing/rpc-rejection.js";
import { SmallFilesystem, smallFilesystemUnavailable } from "../testing/small-filesystem.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

const unavailable = smallFilesystemUnavailable();
const text = (t: string) => ({ payload: { case: "userMessage" as const, value: { content: [{ block: { case: "text" as const, value: { text: t } } }] } } });

// SESS-21: a full data directory is an answer a client can act on, the server says it is
// not serving until it is restarted, and nothing acknowledged is lost.
describe.skipIf(unavailable)(`a full data directory (real tmpfs)${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`, () => {
  let fs: SmallFilesystem;
  let app: TestApp | undefined;
  beforeAll(async () => {
    fs = await SmallFilesystem.mount(24 * 1024 * 1024);
  });
  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await fs?.unmount();
  });

  it("refuses writes with STORAGE_FULL, reports NOT_SERVING, keeps reads, and loses nothing across a restart", async () => {
    const dataDir = join(fs.path, "data");
    app = await startTestApp({ dataDir, sandboxBackend: "process" });
    let sessions = createClient(SessionService, app.grpc);
    let health = createClient(Health, app.grpc);
    const sessionId = "disk-full";
    await sessions.createSession({ sessionId, agent: { model: "scripted" } });
    const statuses: Serving[] = [];
    const watchEnded = (async () => {
      const abort = new AbortController();
      const stream = health.watch({ service: "" }, { signal: abort.signal });
      try {
        for await (const res of stream) {
          statuses.push(res.status);
          if (res.status === Serving.NOT_SERVING) abort.abort();
        }
      } catch {
        // aborted once NOT_SERVING arrived
      }
    })();

    const acknowledged = new Map<number, string>();
    const big = "x".repeat(8 * 1024);
    for (let i = 0; i < 5; i++) {
      const res = await sessions.emitEvent({ sessionId, event: text(`${i}:${big}`), idempotencyKey: `k${i}` });
      acknowledged.set(Number(res.event!.seq), `${i}:${big}`);
    }
    await fs.fill();
    let refused: Awaited<ReturnType<typeof rpcRejection>> | undefined;
    let failedKey = "";
    for (let i = 5; i < 2000 && !refused; i++) {
      try {
        const res = await sessions.emitEvent({ sessionId, event: text(`${i}:${big}`), idempotencyKey: `k${i}` });
        acknowledged.set(Number(res.event!.seq), `${i}:${big}`);
      } catch (err) {
        refused = await rpcRejection(Promise.reject(err));
        failedKey = `k${i}`;
      }
    }
    expect(refused, "an append on a full filesystem must fail").toBeDefined();
    expect([refused!.code, refused!.reason, refused!.metadata["cause"]]).toEqual([Code.ResourceExhausted, "STORAGE_FULL", "ENOSPC"]);

    // Every later write is refused at once with the same reason, even once space is back.
    const next = await rpcRejection(sessions.emitEvent({ sessionId, event: text("small") }));
    expect([next.code, next.reason]).toEqual([Code.ResourceExhausted, "STORAGE_FULL"]);
    await fs.free();
    const create = await rpcRejection(sessions.createSession({ sessionId: "after-full", agent: { model: "scripted" } }));
    expect([create.code, create.reason]).toEqual([Code.ResourceExhausted, "STORAGE_FULL"]);
    const lease = await rpcRejection(sessions.acquireLease({ sessionId, holder: "h" }));
    expect(lease.reason).toBe("STORAGE_FULL");

    // The supervisor's signal: NOT_SERVING for the server and each service, on Check and Watch.
    expect((await health.check({ service: "" })).status).toBe(Serving.NOT_SERVING);
    expect((await health.check({ service: "oma.v1.SessionService" })).status).toBe(Serving.NOT_SERVING);
    await watchEnded;
    expect(statuses).toEqual([Serving.SERVING, Serving.NOT_SERVING]);

    // Reads go on: every acknowledged event is there.
    const read = await sessions.getEvents({ sessionId, limit: 1000 });
    expect(read.events.map((e) => Number(e.seq))).toEqual([...acknowledged.keys()]);

    // A restart on the same data directory (with room again) serves and writes, nothing lost.
    await app.close();
    app = await startTestApp({ dataDir, sandboxBackend: "process" });
    sessions = createClient(SessionService, app.grpc);
    health = createClient(Health, app.grpc);
    expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
    const retry = await sessions.emitEvent({ sessionId, event: text(`${failedKey.slice(1)}:${big}`), idempotencyKey: failedKey });
    const after = await sessions.getEvents({ sessionId, limit: 1000 });
    const seqs = after.events.map((e) => Number(e.seq));
    expect(seqs, "gapless").toEqual(seqs.map((_, i) => i + 1));
    for (const [seq, t] of acknowledged) {
      const event = after.events[seq - 1]!;
      expect(event.payload.case === "userMessage" && event.payload.value.content[0]?.block.value).toMatchObject({ text: t });
    }
    // The refused append either reached the disk or not; its retry under its key lands once, next.
    expect([Number(retry.event!.seq), Number(after.headSeq)]).toEqual([acknowledged.size + 1, acknowledged.size + 1]);
  }, 60_000);
});
