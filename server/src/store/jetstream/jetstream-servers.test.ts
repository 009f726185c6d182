import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { customEvent, expectRpcError, newSession, range, readAll, seqsOf, type SessionClient } from "../../session/session-test-kit.js";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { startTestApp, type TestApp } from "../../testing/test-app.js";

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the tests of two servers on one JetStream cluster: ${unavailable}`);

// Two real servers (`startApp`, real sockets, with auth) whose session logs and tokens are
// on the run's shared 3-node JetStream cluster. Each server calls with its own admin token.
describe.skipIf(unavailable !== undefined)("two OMA servers on one JetStream cluster (SessionService)", () => {
  let a: TestApp;
  let b: TestApp;
  let ca: SessionClient;
  let cb: SessionClient;
  beforeAll(async () => {
    const store = inject("natsUrl");
    [a, b] = await Promise.all([startTestApp({ store }), startTestApp({ store })]);
    ca = a.client(SessionService);
    cb = b.client(SessionService);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("GetServerInfo says the log is on JetStream", async () => {
    expect((await a.client(ServerInfoService).getServerInfo({})).sessionStore).toBe("jetstream");
  });

  it("SESS-12: an emit on one server reaches a watcher on the other, in order, after replay and caught_up", async () => {
    const sessionId = await newSession(ca);
    await ca.emitEvent({ sessionId, event: customEvent("before") });
    const heard: number[] = [];
    let caughtUpAt = -1;
    let onCaughtUp!: () => void;
    const caughtUp = new Promise<void>((resolve) => (onCaughtUp = resolve));
    const watching = (async () => {
      for await (const res of cb.watchEvents({ sessionId, afterSeq: 0n })) {
        if (res.message.case === "caughtUp") {
          caughtUpAt = heard.length;
          onCaughtUp();
        }
        if (res.message.case === "event") heard.push(Number(res.message.value.seq));
        if (heard.length === 31) break;
      }
    })();
    await caughtUp;
    expect(caughtUpAt).toBe(1);
    await Promise.all(range(1, 30).map((i) => (i % 2 ? ca : cb).emitEvent({ sessionId, event: customEvent(`e${i}`) })));
    await watching;
    expect(heard).toEqual(range(1, 31));
    expect(seqsOf(await readAll(cb, sessionId))).toEqual(range(1, 31));
  });

  it("SESS-10: a lease taken on one server fences appends on the other", async () => {
    const sessionId = await newSession(ca);
    await cb.getSession({ sessionId });
    const { lease } = await ca.acquireLease({ sessionId, holder: "brain-a", ttl: { seconds: 30n } });
    await expectRpcError(cb.acquireLease({ sessionId, holder: "brain-b", ttl: { seconds: 30n } }), Code.FailedPrecondition, "LEASE_HELD");
    await cb.emitEvents({ sessionId, events: [customEvent("by a")], leaseEpoch: lease!.epoch });
    await ca.releaseLease({ sessionId, epoch: lease!.epoch });
    const next = await cb.acquireLease({ sessionId, holder: "brain-b", ttl: { seconds: 30n } });
    expect(next.lease!.epoch).toBe(lease!.epoch + 1n);
    await expectRpcError(ca.emitEvents({ sessionId, events: [customEvent("stale")], leaseEpoch: lease!.epoch }), Code.FailedPrecondition, "LEASE_LOST");
    expect(seqsOf(await readAll(ca, sessionId))).toEqual([1]);
  });

  it("SESS-3: a retry through the other server under the same key returns the original events", async () => {
    const sessionId = await newSession(ca);
    const first = await ca.emitEvent({ sessionId, event: customEvent("x"), idempotencyKey: "k1" });
    const retry = await cb.emitEvent({ sessionId, event: customEvent("x"), idempotencyKey: "k1" });
    expect(retry.event!.id).toBe(first.event!.id);
    expect(seqsOf(await readAll(cb, sessionId))).toEqual([1]);
  });

  it("SEC-4: a token minted through one server works on the other, and each server's admin token works on both", async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const { bearerToken } = await a.client(TokenService).createToken({ tenant, role: TokenRole.CLIENT });
    const onA = createOmaClient({ baseUrl: a.url, token: bearerToken });
    const onB = createOmaClient({ baseUrl: b.url, token: bearerToken });
    const { session } = await onB.sessions.createSession({ agent: { model: "m" } });
    expect((await onA.sessions.getSession({ sessionId: session!.sessionId })).session?.sessionId).toBe(session!.sessionId);
    // Tenants hold across the servers: another tenant's client does not see it.
    const { bearerToken: other } = await b.client(TokenService).createToken({ tenant: `${tenant}-x`, role: TokenRole.CLIENT });
    await expectRpcError(createOmaClient({ baseUrl: a.url, token: other }).sessions.getSession({ sessionId: session!.sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    expect(a.adminToken).not.toBe(b.adminToken);
    const sessionId = await newSession(ca);
    for (const token of [a.adminToken, b.adminToken]) {
      for (const url of [a.url, b.url]) expect((await createOmaClient({ baseUrl: url, token }).sessions.getSession({ sessionId })).session?.sessionId).toBe(sessionId);
    }
  });

  it("WIRE-4: a page token from one server opens the next page on the other", async () => {
    const label = randomUUID();
    for (let i = 0; i < 3; i++) await newSession(ca, { batch: label });
    const first = await ca.listSessions({ pageSize: 2, labels: { batch: label } });
    expect(first.sessions).toHaveLength(2);
    const second = await cb.listSessions({ pageSize: 2, pageToken: first.nextPageToken, labels: { batch: label } });
    expect(second.sessions).toHaveLength(1);
  });

  it("SEC-8: a revocation through one server ends the token's open watch on the other and refuses it there", async () => {
    const { token, bearerToken } = await a.client(TokenService).createToken({ tenant: "default", role: TokenRole.CLIENT });
    const onB = createOmaClient({ baseUrl: b.url, token: bearerToken });
    const { session } = await onB.sessions.createSession({ agent: { model: "m" } });
    const watch = onB.sessions.watchEvents({ sessionId: session!.sessionId })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.message.case).toBe("caughtUp");
    const ended = watch.next().catch((e: unknown) => e);
    await a.client(TokenService).revokeToken({ tokenId: token!.tokenId });
    const info = omaErrorInfo(await ended);
    expect([info?.reason, info?.metadata["cause"]]).toEqual(["UNAUTHENTICATED", "revoked"]);
    const refused = omaErrorInfo(await onB.sessions.getSession({ sessionId: session!.sessionId }).catch((e: unknown) => e));
    expect([refused?.reason, refused?.metadata["cause"]]).toEqual(["UNAUTHENTICATED", "revoked"]);
  });
});
