import { Code } from "@connectrpc/connect";
import { omaErrorInfo } from "@oma/client";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { durationMs } from "./duration.js";
import { fromInt64 } from "./int64.js";

// HarnessService at the edge of the real server, over real sockets.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ harness: { leaseTtlMs: 5_000, sweepIntervalMs: 60_000 } });
});
afterAll(async () => app?.stop());

const failure = async (p: Promise<unknown>) => omaErrorInfo(await p.then(() => undefined, (e: unknown) => e));

async function newSession(): Promise<string> {
  const sessionId = `hsvc-${randomUUID()}`;
  await app.client(SessionService).createSession({ sessionId, agent: { model: "m" } });
  return sessionId;
}

describe("HarnessService", () => {
  it("claims harness.core, harness.auto_rewake and harness.context", async () => {
    const info = await app.client(ServerInfoService).getServerInfo({});
    expect(info.features).toEqual(expect.arrayContaining(["harness.core", "harness.auto_rewake", "harness.context"]));
  });

  it("HARN-1: Wake acquires the session's lease for a new hrn_ harness, then answers already_running", async () => {
    const harness = app.client(HarnessService);
    const sessionId = await newSession();
    const first = await harness.wake({ sessionId });
    expect(first.harnessId).toMatch(/^hrn_/);
    expect(first.alreadyRunning).toBe(false);
    const { session } = await app.client(SessionService).getSession({ sessionId });
    expect(session?.lease?.holder).toBe(first.harnessId);
    expect(fromInt64(session!.lease!.epoch)).toBe(fromInt64(first.leaseEpoch));
    const again = await harness.wake({ sessionId });
    expect(again.alreadyRunning).toBe(true);
    expect(again.harnessId).toBe(first.harnessId);
  });

  it("Wake: unknown session is NOT_FOUND / SESSION_NOT_FOUND; a bad id is INVALID_FIELD naming session_id", async () => {
    const harness = app.client(HarnessService);
    expect(await failure(harness.wake({ sessionId: `nope-${randomUUID()}` }))).toMatchObject({ code: Code.NotFound, reason: "SESSION_NOT_FOUND" });
    expect(await failure(harness.wake({ sessionId: "../etc" }))).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_FIELD", field: "session_id" });
  });

  it("HARN-13: ListHarnesses shows the live brain with session, epoch and times, filtered and paged", async () => {
    const harness = app.client(HarnessService);
    const ids = [await newSession(), await newSession(), await newSession()];
    const woken = await Promise.all(ids.map((sessionId) => harness.wake({ sessionId })));
    const one = await harness.listHarnesses({ sessionId: ids[0]! });
    expect(one.harnesses).toHaveLength(1);
    expect(one.harnesses[0]).toMatchObject({ sessionId: ids[0], harnessId: woken[0]!.harnessId, workerId: "" });
    expect(one.harnesses[0]!.startTime).toBeDefined();
    expect(one.harnesses[0]!.expireTime!.seconds).toBeGreaterThanOrEqual(one.harnesses[0]!.startTime!.seconds);
    const seen = new Set<string>();
    let pageToken = "";
    do {
      const page = await harness.listHarnesses({ pageSize: 1, pageToken });
      expect(page.harnesses.length).toBeLessThanOrEqual(1);
      for (const h of page.harnesses) {
        expect(seen.has(h.harnessId)).toBe(false);
        seen.add(h.harnessId);
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    for (const w of woken) expect(seen.has(w.harnessId)).toBe(true);
  });

  it("ListHarnesses rejects a negative page size and a forged or foreign page token", async () => {
    const harness = app.client(HarnessService);
    expect(await failure(harness.listHarnesses({ pageSize: -1 }))).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_FIELD", field: "page_size" });
    expect(await failure(harness.listHarnesses({ pageToken: "garbage" }))).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_PAGE_TOKEN" });
    const sessionId = await newSession();
    await harness.wake({ sessionId });
    await harness.wake({ sessionId: await newSession() });
    const page = await harness.listHarnesses({ pageSize: 1 });
    expect(page.nextPageToken).not.toBe("");
    expect(await failure(harness.listHarnesses({ pageSize: 1, pageToken: page.nextPageToken, sessionId }))).toMatchObject({ reason: "INVALID_PAGE_TOKEN" });
  });

  it("HARN-3: ConnectWorker registers a worker (first a heartbeat), hands it a woken session with its lease, and validates its request", async () => {
    const harness = app.client(HarnessService);
    const abort = new AbortController();
    const stream = harness.connectWorker({ workerId: `w-${randomUUID()}`, capacity: 1024 }, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      expect((await stream.next()).value?.message.case).toBe("heartbeat");
      const sessionId = await newSession();
      const woke = await harness.wake({ sessionId });
      let assignment;
      // Brains other tests queued arrive too; the server is never assumed empty.
      for (let i = 0; i < 200 && !assignment; i++) {
        const msg = (await stream.next()).value;
        if (msg?.message.case === "assignment" && msg.message.value.sessionId === sessionId) assignment = msg.message.value;
      }
      expect(assignment).toMatchObject({ sessionId, harnessId: woke.harnessId });
      expect(fromInt64(assignment!.leaseEpoch)).toBe(fromInt64(woke.leaseEpoch));
      expect(assignment!.leaseExpireTime).toBeDefined();
      expect(durationMs(assignment!.leaseTtl), "lease_ttl: the TTL the lease was granted with").toBe(5_000);
    } finally {
      abort.abort();
    }
    const bad = async (req: { workerId: string; capacity?: number }) => {
      const s = harness.connectWorker(req)[Symbol.asyncIterator]();
      return failure(s.next());
    };
    expect(await bad({ workerId: "" })).toMatchObject({ code: Code.InvalidArgument, field: "worker_id" });
    expect(await bad({ workerId: "ok-id", capacity: 5000 })).toMatchObject({ code: Code.InvalidArgument, field: "capacity" });
  });
});
