import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import type { WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { SessionTokens } from "./session-token.js";

// SEC-4: a brain's session token reaches its session and that session's sandboxes, and
// nothing else; RenewLease keeps it fresh; revoking the worker token ends it and its streams.
let app: TestApp;
let admin: OmaClient;
/** A server whose brains get 2 s leases and whose session tokens outlive them by 500 ms. */
let brief: TestApp;
let briefAdmin: OmaClient;

beforeAll(async () => {
  app = await startTestApp({ harness: { sweepIntervalMs: 60_000 } });
  admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  brief = await startTestApp({ harness: { leaseTtlMs: 2_000, sweepIntervalMs: 60_000 }, limits: { sessionTokenGraceMs: 500 } });
  briefAdmin = createOmaClient({ baseUrl: brief.url, token: brief.adminToken });
});
afterAll(async () => {
  await app?.stop();
  await brief?.stop();
});

const reason = async (p: Promise<unknown>) => {
  const info = omaErrorInfo(await p.then(() => undefined, (e: unknown) => e));
  return info ? `${info.reason}${info.metadata["cause"] ? `:${info.metadata["cause"]}` : ""}` : "ok";
};

/** A pool worker that takes one assignment: wakes a fresh session and returns what the worker received. */
async function assignment(workerToken: string, on = { app, admin }): Promise<{ a: WorkAssignment; stream: AbortController; worker: OmaClient; next: Promise<unknown> }> {
  const { app, admin } = on;
  const worker = createOmaClient({ baseUrl: app.url, token: workerToken });
  const stream = new AbortController();
  const sessionId = `scope-${randomUUID()}`;
  await admin.sessions.createSession({ sessionId, agent: { model: "m" } });
  const messages = worker.harness.connectWorker({ workerId: `w-${randomUUID()}`, capacity: 1 }, { signal: stream.signal })[Symbol.asyncIterator]();
  expect((await messages.next()).value?.message.case).toBe("heartbeat");
  await admin.harness.wake({ sessionId });
  for (;;) {
    const m = await messages.next();
    if (m.value?.message.case === "assignment") return { a: m.value.message.value, stream, worker, next: messages.next().catch((e: unknown) => e) };
  }
}

describe("SEC-4: session tokens", () => {
  it("reach their session and its sandboxes alone; PERMISSION_DENIED or NOT_FOUND elsewhere", async () => {
    const { bearerToken } = await admin.tokens.createToken({ tenant: "*", role: TokenRole.WORKER });
    const { a, stream } = await assignment(bearerToken);
    try {
      expect(a.sessionToken).toMatch(/^omas_/);
      const brain = createOmaClient({ baseUrl: app.url, token: a.sessionToken });
      const other = `scope-other-${randomUUID()}`;
      await admin.sessions.createSession({ sessionId: other, agent: { model: "m" } });
      const theirs = (await admin.sandboxes.provision({ sessionId: other })).sandbox!.sandboxId;
      const s = a.sessionId;
      expect(await reason(brain.sessions.getSession({ sessionId: s }))).toBe("ok");
      expect(await reason(brain.sessions.emitEvent({ sessionId: s, event: { payload: { case: "custom", value: { type: "x" } } }, leaseEpoch: a.leaseEpoch }))).toBe("ok");
      const mine = (await brain.sandboxes.provision({ sessionId: s })).sandbox!;
      expect(mine.sessionId).toBe(s);
      expect(await reason(brain.sandboxes.execute({ sandboxId: mine.sandboxId, name: "bash", input: { command: "true" } }))).toBe("ok");
      expect({
        getOther: await reason(brain.sessions.getSession({ sessionId: other })),
        emitOther: await reason(brain.sessions.emitEvent({ sessionId: other, event: { payload: { case: "custom", value: { type: "x" } } } })),
        create: await reason(brain.sessions.createSession({ agent: { model: "m" } })),
        list: await reason(brain.sessions.listSessions({})),
        delete: await reason(brain.sessions.deleteSession({ sessionId: s })),
        wake: await reason(brain.harness.wake({ sessionId: s })),
        connect: await reason(brain.harness.connectWorker({ workerId: "x" })[Symbol.asyncIterator]().next()),
        provisionOther: await reason(brain.sandboxes.provision({ sessionId: other })),
        provisionNone: await reason(brain.sandboxes.provision({})),
        listSandboxes: await reason(brain.sandboxes.listSandboxes({})),
        executeTheirs: await reason(brain.sandboxes.execute({ sandboxId: theirs, name: "bash", input: { command: "true" } })),
        getTheirs: await reason(brain.sandboxes.getSandbox({ sandboxId: theirs })),
        tokens: await reason(brain.tokens.listTokens({})),
      }).toEqual({
        getOther: "PERMISSION_DENIED",
        emitOther: "PERMISSION_DENIED",
        create: "PERMISSION_DENIED",
        list: "PERMISSION_DENIED",
        delete: "PERMISSION_DENIED",
        wake: "PERMISSION_DENIED",
        connect: "PERMISSION_DENIED",
        provisionOther: "PERMISSION_DENIED",
        provisionNone: "PERMISSION_DENIED",
        listSandboxes: "PERMISSION_DENIED",
        executeTheirs: "SANDBOX_NOT_FOUND",
        getTheirs: "SANDBOX_NOT_FOUND",
        tokens: "PERMISSION_DENIED",
      });
      // Destroying another session's sandbox changes nothing, as for a sandbox that does not exist.
      await brain.sandboxes.destroySandbox({ sandboxId: theirs });
      expect((await admin.sandboxes.getSandbox({ sandboxId: theirs })).sandbox?.sandboxId).toBe(theirs);
    } finally {
      stream.abort();
    }
  });

  it("RenewLease with a session token returns a fresh one; the first expires with its lease plus the grace", async () => {
    const { bearerToken } = await briefAdmin.tokens.createToken({ tenant: "*", role: TokenRole.WORKER });
    const { a, stream } = await assignment(bearerToken, { app: brief, admin: briefAdmin });
    try {
      const brain = createOmaClient({ baseUrl: brief.url, token: a.sessionToken });
      const renewed = await brain.sessions.renewLease({ sessionId: a.sessionId, epoch: a.leaseEpoch, ttl: { seconds: 10n } });
      expect(renewed.sessionToken).toMatch(/^omas_/);
      expect(renewed.sessionToken).not.toBe(a.sessionToken);
      // A client's renewal carries no session token.
      expect((await briefAdmin.sessions.renewLease({ sessionId: a.sessionId, epoch: a.leaseEpoch, ttl: { seconds: 10n } })).sessionToken).toBe("");
      // The first token lived until the first lease's expiry (2 s) plus the grace (500 ms).
      await sleep(2_600);
      expect(await reason(brain.sessions.getSession({ sessionId: a.sessionId }))).toBe("UNAUTHENTICATED:expired");
      const fresh = createOmaClient({ baseUrl: brief.url, token: renewed.sessionToken });
      expect(await reason(fresh.sessions.getSession({ sessionId: a.sessionId }))).toBe("ok");
      // A token whose claims were altered is not one the server signed.
      const [body, mac] = renewed.sessionToken.slice("omas_".length).split(".");
      const claims = JSON.parse(Buffer.from(body!, "base64url").toString()) as Record<string, unknown>;
      const forged = `omas_${Buffer.from(JSON.stringify({ ...claims, s: "someone-else" })).toString("base64url")}.${mac}`;
      expect(await reason(createOmaClient({ baseUrl: brief.url, token: forged }).sessions.getSession({ sessionId: "someone-else" }))).toBe("UNAUTHENTICATED:unknown");
    } finally {
      stream.abort();
    }
  });

  it("revoking the worker token ends its ConnectWorker stream, the session tokens issued under it and their watches", async () => {
    const created = await admin.tokens.createToken({ tenant: "*", role: TokenRole.WORKER });
    const { a, stream, next } = await assignment(created.bearerToken);
    try {
      const brain = createOmaClient({ baseUrl: app.url, token: a.sessionToken });
      const watch = brain.sessions.watchEvents({ sessionId: a.sessionId })[Symbol.asyncIterator]();
      expect((await watch.next()).value?.message.case).toBeDefined();
      const watchEnd = (async () => {
        for (;;) await watch.next();
      })().catch((e: unknown) => e);
      await admin.tokens.revokeToken({ tokenId: created.token!.tokenId });
      const workerEnd = omaErrorInfo(await next);
      expect([workerEnd?.code, workerEnd?.reason, workerEnd?.metadata["cause"]]).toEqual([Code.Unauthenticated, "UNAUTHENTICATED", "revoked"]);
      const watchInfo = omaErrorInfo(await watchEnd);
      expect([watchInfo?.reason, watchInfo?.metadata["cause"]]).toEqual(["UNAUTHENTICATED", "revoked"]);
      expect(await reason(brain.sessions.getSession({ sessionId: a.sessionId }))).toBe("UNAUTHENTICATED:revoked");
      const worker = createOmaClient({ baseUrl: app.url, token: created.bearerToken });
      expect(await reason(worker.sandboxes.listTools({}))).toBe("UNAUTHENTICATED:revoked");
    } finally {
      stream.abort();
    }
  });

  it("revoking a client token ends its open watch at once", async () => {
    const created = await admin.tokens.createToken({ tenant: "default", role: TokenRole.CLIENT });
    const client = createOmaClient({ baseUrl: app.url, token: created.bearerToken });
    const { session } = await client.sessions.createSession({ agent: { model: "m" } });
    const watch = client.sessions.watchEvents({ sessionId: session!.sessionId })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.message.case).toBe("caughtUp");
    const ended = watch.next().catch((e: unknown) => e);
    await admin.tokens.revokeToken({ tokenId: created.token!.tokenId });
    const info = omaErrorInfo(await ended);
    expect([info?.reason, info?.metadata["cause"]]).toEqual(["UNAUTHENTICATED", "revoked"]);
    // Revoking again succeeds and changes nothing; an unknown id is TOKEN_NOT_FOUND.
    const again = await admin.tokens.revokeToken({ tokenId: created.token!.tokenId });
    expect(again.token?.revokeTime).toBeDefined();
    expect(await reason(admin.tokens.revokeToken({ tokenId: "tok_ffffffffffffffff" }))).toBe("TOKEN_NOT_FOUND");
  });
});

describe("SessionTokens.open", () => {
  it("gives the claims of a token it signed, the second time from memory; a token altered anywhere is refused, before and after its original was seen", () => {
    const tokens = new SessionTokens(randomBytes(32));
    const claims = { tenant: "t", sessionId: "s", harnessId: "h", parentTokenId: "k", expireMs: 1 };
    const token = tokens.issue(claims);
    const altered = [5, token.indexOf(".") - 1, token.indexOf(".") + 1, token.length - 1].map((i) => `${token.slice(0, i)}${token[i] === "A" ? "B" : "A"}${token.slice(i + 1)}`);
    for (const t of altered) expect(tokens.open(t)).toBeUndefined();
    expect(tokens.open(token)).toEqual(claims);
    expect(tokens.open(token)).toEqual(claims);
    for (const t of altered) expect(tokens.open(t)).toBeUndefined();
    expect(new SessionTokens(randomBytes(32)).open(token)).toBeUndefined();
  });

  it("keeps the claims of at most maxOpened tokens, dropping the oldest, and still opens a dropped one", () => {
    const tokens = new SessionTokens(randomBytes(32), { maxOpened: 3 });
    const issued = Array.from({ length: 5 }, (_, i) => tokens.issue({ tenant: "t", sessionId: `s${i}`, harnessId: "h", parentTokenId: "k", expireMs: 1 }));
    for (const token of issued) tokens.open(token);
    expect(tokens.openedCount).toBe(3);
    expect(tokens.open(issued[0]!)?.sessionId).toBe("s0");
    expect(tokens.openedCount).toBe(3);
  });
});
