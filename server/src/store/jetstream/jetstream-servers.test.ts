import { Code } from "@connectrpc/connect";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { customEvent, expectRpcError, newSession, range, readAll, seqsOf, type SessionClient } from "../../session/session-test-kit.js";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { startTestApp, type TestApp } from "../../testing/test-app.js";

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the tests of two servers on one JetStream cluster: ${unavailable}`);

// Two real servers (`startApp`, real sockets) whose session logs are the run's shared
// 3-node JetStream cluster. Tokens are still each server's own, so both run without auth.
describe.skipIf(unavailable !== undefined)("two OMA servers on one JetStream cluster (SessionService)", () => {
  let a: TestApp;
  let b: TestApp;
  let ca: SessionClient;
  let cb: SessionClient;
  beforeAll(async () => {
    const store = inject("natsUrl");
    [a, b] = await Promise.all([startTestApp({ store, auth: "none" }), startTestApp({ store, auth: "none" })]);
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
});
