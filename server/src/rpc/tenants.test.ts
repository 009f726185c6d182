import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// SEC-10: two tenants side by side on one server. Nothing of one is visible to, writable
// by or wake-able by the other: sessions, events, watches, listings and their page tokens,
// idempotency keys, sandboxes and worker assignments.
let app: TestApp;
let a: OmaClient;
let b: OmaClient;
const tokens = { workerA: "", workerB: "" };

beforeAll(async () => {
  app = await startTestApp({ harness: { leaseTtlMs: 30_000, sweepIntervalMs: 60_000 } });
  const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  const mint = async (tenant: string, role: TokenRole) => (await admin.tokens.createToken({ tenant, role })).bearerToken;
  a = createOmaClient({ baseUrl: app.url, token: await mint("tenant-a", TokenRole.CLIENT) });
  b = createOmaClient({ baseUrl: app.url, token: await mint("tenant-b", TokenRole.CLIENT) });
  tokens.workerA = await mint("tenant-a", TokenRole.WORKER);
  tokens.workerB = await mint("tenant-b", TokenRole.WORKER);
});
afterAll(async () => app?.stop());

const outcome = async (p: Promise<unknown>) => {
  const info = omaErrorInfo(await p.then(() => undefined, (e: unknown) => e));
  return info ? info.reason : "ok";
};
const custom = (type: string) => ({ payload: { case: "custom" as const, value: { type } } });

describe("SEC-10: tenants", () => {
  it("the same session id in two tenants is two sessions; creating one tells nothing about the other", async () => {
    const sessionId = `same-${randomUUID()}`;
    await a.sessions.createSession({ sessionId, agent: { model: "m" } });
    const created = await b.sessions.createSession({ sessionId, agent: { model: "m" } });
    expect(created.session?.tenant).toBe("tenant-b");
    expect(await outcome(b.sessions.createSession({ sessionId, agent: { model: "m" } }))).toBe("SESSION_EXISTS");
    // One idempotency key in both: two appends, neither a duplicate of the other.
    const ea = await a.sessions.emitEvent({ sessionId, event: custom("from-a"), idempotencyKey: "same-key" });
    const eb = await b.sessions.emitEvent({ sessionId, event: custom("from-b"), idempotencyKey: "same-key" });
    expect([ea.duplicate, eb.duplicate, ea.event!.seq, eb.event!.seq]).toEqual([false, false, 1n, 1n]);
    expect((await a.sessions.getEvents({ sessionId })).events.map((e) => e.payload.case === "custom" && e.payload.value.type)).toEqual(["from-a"]);
  });

  it("another tenant's session is SESSION_NOT_FOUND for every call, exactly as a missing one, and stays unchanged", async () => {
    const { session } = await a.sessions.createSession({ agent: { model: "m" }, labels: { owner: "a" } });
    const sessionId = session!.sessionId;
    await a.sessions.emitEvent({ sessionId, event: custom("x") });
    const missing = `missing-${randomUUID()}`;
    const calls = (id: string) => ({
      get: b.sessions.getSession({ sessionId: id }),
      emit: b.sessions.emitEvent({ sessionId: id, event: custom("intruder") }),
      emitBatch: b.sessions.emitEvents({ sessionId: id, events: [custom("intruder")] }),
      read: b.sessions.getEvents({ sessionId: id }),
      watch: b.sessions.watchEvents({ sessionId: id })[Symbol.asyncIterator]().next(),
      acquire: b.sessions.acquireLease({ sessionId: id, holder: "intruder" }),
      renew: b.sessions.renewLease({ sessionId: id, epoch: 1n }),
      release: b.sessions.releaseLease({ sessionId: id, epoch: 1n }),
      wake: b.harness.wake({ sessionId: id }),
      delete: b.sessions.deleteSession({ sessionId: id }),
      provision: b.sandboxes.provision({ sessionId: id }).then((r) => b.sandboxes.destroySandbox({ sandboxId: r.sandbox!.sandboxId })),
    });
    const settle = async (c: Record<string, Promise<unknown>>) => Object.fromEntries(await Promise.all(Object.entries(c).map(async ([k, p]) => [k, await outcome(p)])));
    const theirs = await settle(calls(sessionId));
    const none = await settle(calls(missing));
    expect(theirs).toEqual(none);
    expect(theirs["get"]).toBe("SESSION_NOT_FOUND");
    const after = (await a.sessions.getSession({ sessionId })).session!;
    expect([after.headSeq, after.lease]).toEqual([1n, undefined]);
    // A sandbox B provisions naming A's session belongs to B; it does not touch A's session.
    expect((await a.sandboxes.listSandboxes({ sessionId })).sandboxes).toEqual([]);
  });

  it("listings show a tenant its own alone, and a page token of one tenant opens no listing of another", async () => {
    const tag = randomUUID();
    for (let i = 0; i < 3; i++) await a.sessions.createSession({ agent: { model: "m" }, labels: { run: tag } });
    await b.sessions.createSession({ agent: { model: "m" }, labels: { run: tag } });
    const pageA = await a.sessions.listSessions({ pageSize: 2, labels: { run: tag } });
    expect(pageA.sessions.every((s) => s.tenant === "tenant-a")).toBe(true);
    expect(pageA.nextPageToken).not.toBe("");
    expect((await b.sessions.listSessions({ labels: { run: tag } })).sessions.map((s) => s.tenant)).toEqual(["tenant-b"]);
    const forged = omaErrorInfo(await b.sessions.listSessions({ pageSize: 2, labels: { run: tag }, pageToken: pageA.nextPageToken }).catch((e: unknown) => e));
    expect([forged?.code, forged?.reason]).toEqual([Code.InvalidArgument, "INVALID_PAGE_TOKEN"]);
    expect((await a.sessions.listSessions({ pageSize: 2, labels: { run: tag }, pageToken: pageA.nextPageToken })).sessions).toHaveLength(1);

    const sandboxes = await Promise.all([0, 1].map(() => a.sandboxes.provision({ labels: { run: tag } })));
    try {
      const sbxA = await a.sandboxes.listSandboxes({ pageSize: 1 });
      expect(sbxA.nextPageToken).not.toBe("");
      expect(await outcome(b.sandboxes.listSandboxes({ pageSize: 1, pageToken: sbxA.nextPageToken }))).toBe("INVALID_PAGE_TOKEN");
      const seenByB = (await b.sandboxes.listSandboxes({ pageSize: 1000 })).sandboxes.map((s) => s.sandboxId);
      for (const s of sandboxes) expect(seenByB).not.toContain(s.sandbox!.sandboxId);
    } finally {
      for (const s of sandboxes) await a.sandboxes.destroySandbox({ sandboxId: s.sandbox!.sandboxId });
    }

    const woken = await Promise.all([0, 1].map(async () => {
      const { session } = await a.sessions.createSession({ agent: { model: "m" } });
      await a.harness.wake({ sessionId: session!.sessionId });
      return session!.sessionId;
    }));
    const harnA = await a.harness.listHarnesses({ pageSize: 1 });
    expect(harnA.nextPageToken).not.toBe("");
    expect(await outcome(b.harness.listHarnesses({ pageSize: 1, pageToken: harnA.nextPageToken }))).toBe("INVALID_PAGE_TOKEN");
    const harnB = (await b.harness.listHarnesses({ pageSize: 1000 })).harnesses.map((h) => h.sessionId);
    for (const id of woken) expect(harnB).not.toContain(id);
  });

  it("another tenant's sandbox is SANDBOX_NOT_FOUND; destroying it changes nothing", async () => {
    const { sandbox } = await a.sandboxes.provision({});
    const sandboxId = sandbox!.sandboxId;
    try {
      expect(sandbox?.tenant).toBe("tenant-a");
      expect({
        get: await outcome(b.sandboxes.getSandbox({ sandboxId })),
        execute: await outcome(b.sandboxes.execute({ sandboxId, name: "bash", input: { command: "touch /tmp/intruder" } })),
        stream: await outcome(b.sandboxes.executeStream({ sandboxId, name: "bash", input: { command: "true" } })[Symbol.asyncIterator]().next()),
        renew: await outcome(b.sandboxes.renewSandbox({ sandboxId })),
        destroy: await outcome(b.sandboxes.destroySandbox({ sandboxId })),
      }).toEqual({ get: "SANDBOX_NOT_FOUND", execute: "SANDBOX_NOT_FOUND", stream: "SANDBOX_NOT_FOUND", renew: "SANDBOX_NOT_FOUND", destroy: "ok" });
      expect((await a.sandboxes.getSandbox({ sandboxId })).sandbox?.state).toBe(sandbox?.state);
    } finally {
      await a.sandboxes.destroySandbox({ sandboxId });
    }
  });

  it("a tenant's worker receives only its tenant's sessions; its session token reaches nothing of another tenant", async () => {
    const stop = new AbortController();
    const connect = (token: string) => {
      const stream = createOmaClient({ baseUrl: app.url, token }).harness.connectWorker({ workerId: "shared-worker-id", capacity: 4 }, { signal: stop.signal })[Symbol.asyncIterator]();
      return stream;
    };
    const workerB = connect(tokens.workerB);
    const workerA = connect(tokens.workerA);
    try {
      expect((await workerB.next()).value?.message.case).toBe("heartbeat");
      expect((await workerA.next()).value?.message.case).toBe("heartbeat");
      const bNext = workerB.next().catch(() => undefined);
      const sessionId = `assign-${randomUUID()}`;
      await a.sessions.createSession({ sessionId, agent: { model: "m" } });
      await b.sessions.createSession({ sessionId, agent: { model: "m" } });
      await a.harness.wake({ sessionId });
      // Brains of tenant A that waited for a worker (earlier tests) come first; ours is among them.
      let assignment: { sessionId: string; sessionToken: string; leaseEpoch: bigint } | undefined;
      while (assignment?.sessionId !== sessionId) {
        const got = await workerA.next();
        if (got.value?.message.case === "assignment") assignment = got.value.message.value;
      }
      // B's worker (same worker id, other tenant) gets B's next brain as its first assignment: A's never reached it.
      const ofB = `assign-b-${randomUUID()}`;
      await b.sessions.createSession({ sessionId: ofB, agent: { model: "m" } });
      await b.harness.wake({ sessionId: ofB });
      let first = await bNext;
      while (first?.value?.message.case === "heartbeat") first = await workerB.next();
      expect(first?.value?.message.case === "assignment" && first.value.message.value.sessionId).toBe(ofB);
      // The session token names A's session: B's session of the same id stays out of reach.
      const brain = createOmaClient({ baseUrl: app.url, token: assignment.sessionToken });
      await brain.sessions.emitEvent({ sessionId, event: custom("brain"), leaseEpoch: assignment.leaseEpoch });
      expect((await b.sessions.getEvents({ sessionId })).events).toEqual([]);
      expect((await a.sessions.getEvents({ sessionId })).events).toHaveLength(1);
    } finally {
      stop.abort();
    }
  });
});
