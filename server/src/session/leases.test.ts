import { Code } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../testing/temp-dir.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { expectRpcError, newSession, readAll, textEvent, type SessionClient } from "./session-test-kit.js";

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

describe("SessionService: leases and fencing (real server)", () => {
  let app: TestApp;
  let client: SessionClient;
  beforeAll(async () => {
    app = await startTestApp();
    client = app.client(SessionService);
  });
  afterAll(async () => {
    await app.stop();
  });

  it("SESS-10/SESS-15/SESS-17: one live lease, renew keeps the epoch, release is idempotent, epochs grow", async () => {
    const sessionId = await newSession(client);
    const { lease } = await client.acquireLease({ sessionId, holder: "brain-a", ttl: seconds(30) });
    expect([lease!.epoch, lease!.holder]).toEqual([1n, "brain-a"]);
    expect((await client.getSession({ sessionId })).session!.lease?.epoch).toBe(1n);
    const held = await expectRpcError(client.acquireLease({ sessionId, holder: "brain-b" }), Code.FailedPrecondition, "LEASE_HELD");
    expect(held.metadata).toMatchObject({ holder: "brain-a", epoch: "1" });
    const renewed = (await client.renewLease({ sessionId, epoch: 1n, ttl: seconds(60) })).lease!;
    expect(renewed.epoch).toBe(1n);
    expect(renewed.expireTime!.seconds).toBeGreaterThan(lease!.expireTime!.seconds);
    await client.releaseLease({ sessionId, epoch: 1n });
    await client.releaseLease({ sessionId, epoch: 1n });
    expect((await client.getSession({ sessionId })).session!.lease).toBeUndefined();
    await expectRpcError(client.renewLease({ sessionId, epoch: 1n }), Code.FailedPrecondition, "LEASE_LOST");
    expect((await client.acquireLease({ sessionId, holder: "brain-b" })).lease!.epoch).toBe(2n);
    await expectRpcError(client.releaseLease({ sessionId, epoch: 1n }), Code.FailedPrecondition, "LEASE_LOST");
    await expectRpcError(client.renewLease({ sessionId, epoch: 99n }), Code.FailedPrecondition, "LEASE_LOST");
    await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x"), leaseEpoch: 99n }), Code.FailedPrecondition, "LEASE_LOST");
    expect(await readAll(client, sessionId)).toEqual([]);
  });

  it("SESS-16: ttl between 1 s and 10 min (unset 30 s), holder 1–128 bytes, epoch >= 1; otherwise INVALID_FIELD and no lease", async () => {
    const sessionId = await newSession(client);
    for (const ttl of [seconds(0.999), seconds(600.001), { seconds: -5n, nanos: 0 }, { seconds: 0n, nanos: 0 }]) {
      await expectRpcError(client.acquireLease({ sessionId, holder: "h", ttl }), Code.InvalidArgument, "INVALID_FIELD", "ttl");
    }
    await expectRpcError(client.acquireLease({ sessionId, holder: "" }), Code.InvalidArgument, "INVALID_FIELD", "holder");
    await expectRpcError(client.acquireLease({ sessionId, holder: "h".repeat(129) }), Code.InvalidArgument, "INVALID_FIELD", "holder");
    await expectRpcError(client.renewLease({ sessionId, epoch: 0n }), Code.InvalidArgument, "INVALID_FIELD", "epoch");
    await expectRpcError(client.releaseLease({ sessionId, epoch: -1n }), Code.InvalidArgument, "INVALID_FIELD", "epoch");
    expect((await client.getSession({ sessionId })).session!.lease).toBeUndefined();
    const before = Date.now();
    const lease = (await client.acquireLease({ sessionId, holder: "h".repeat(128) })).lease!;
    const ttlMs = Number(lease.expireTime!.seconds) * 1000 - before;
    expect(ttlMs).toBeGreaterThan(28_000);
    expect(ttlMs).toBeLessThanOrEqual(31_000);
    await expectRpcError(client.renewLease({ sessionId, epoch: lease.epoch, ttl: seconds(601) }), Code.InvalidArgument, "INVALID_FIELD", "ttl");
    await client.renewLease({ sessionId, epoch: lease.epoch, ttl: seconds(600) });
    await client.releaseLease({ sessionId, epoch: lease.epoch });
    await client.acquireLease({ sessionId, holder: "h", ttl: seconds(1) });
  });

  it("SESS-10: concurrent acquires: exactly one wins, every other is LEASE_HELD", async () => {
    const sessionId = await newSession(client);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.acquireLease({ sessionId, holder: `h${i}` })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.flatMap((r) => (r.status === "rejected" ? [reasonOf(r.reason)] : []))).toEqual(Array(9).fill("LEASE_HELD"));
  });

  it("SESS-10: fencing: after a takeover every emit of the stale holder is LEASE_LOST and the log never interleaves", async () => {
    const sessionId = await newSession(client);
    const a = (await client.acquireLease({ sessionId, holder: "brain-a", ttl: seconds(1) })).lease!;
    let taken = false;
    let stopA = false;
    const aAccepted: bigint[] = [];
    const aLostAfterTakeover: string[] = [];
    // The stale brain keeps emitting and never renews: it stalls, as a paused process would.
    const brainA = (async () => {
      for (let i = 0; !stopA; i++) {
        const wasTaken = taken;
        try {
          aAccepted.push((await client.emitEvent({ sessionId, event: textEvent(`a${i}`), leaseEpoch: a.epoch })).event!.seq);
          expect(wasTaken).toBe(false);
        } catch (err) {
          expect(reasonOf(err)).toBe("LEASE_LOST");
          if (wasTaken) aLostAfterTakeover.push(reasonOf(err));
        }
        await sleep(2);
      }
    })();
    let b: bigint | undefined;
    for (let attempt = 0; attempt < 100 && b === undefined; attempt++) {
      try {
        b = (await client.acquireLease({ sessionId, holder: "brain-b", ttl: seconds(30) })).lease!.epoch;
      } catch (err) {
        expect(reasonOf(err)).toBe("LEASE_HELD");
        await sleep(50);
      }
    }
    expect(b).toBe(2n);
    taken = true;
    const bSeqs: bigint[] = [];
    for (let i = 0; i < 30; i++) bSeqs.push((await client.emitEvent({ sessionId, event: textEvent(`b${i}`), leaseEpoch: b })).event!.seq);
    stopA = true;
    await brainA;
    expect(aAccepted.length).toBeGreaterThan(0);
    expect(aLostAfterTakeover.length).toBeGreaterThan(0);
    const log = await readAll(client, sessionId);
    const author = (e: (typeof log)[number]) => {
      const block = e.payload.case === "userMessage" ? e.payload.value.content[0]?.block : undefined;
      return block?.case === "text" ? block.value.text[0] : "?";
    };
    const authors = log.map(author).join("");
    expect(authors).toMatch(/^a*b*$/);
    expect(authors.replace(/b/g, "")).toHaveLength(aAccepted.length);
    expect(log.filter((e) => author(e) === "b").map((e) => e.seq)).toEqual(bSeqs);
  }, 20_000);

  it("SESS-10: epochs are never reused across a restart of the server", async () => {
    const dir = await tempDir("oma-lease-");
    try {
      let server = await startTestApp({ dataDir: dir.path });
      let c = server.client(SessionService);
      const sessionId = await newSession(c);
      const first = (await c.acquireLease({ sessionId, holder: "h", ttl: seconds(600) })).lease!;
      await server.stop();
      server = await startTestApp({ dataDir: dir.path });
      c = server.client(SessionService);
      expect((await c.getSession({ sessionId })).session!.lease?.epoch).toBe(first.epoch);
      await c.releaseLease({ sessionId, epoch: first.epoch });
      expect((await c.acquireLease({ sessionId, holder: "h2" })).lease!.epoch).toBe(first.epoch + 1n);
      await server.stop();
    } finally {
      await dir.remove();
    }
  });
});
