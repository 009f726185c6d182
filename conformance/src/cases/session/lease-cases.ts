import type { Lease } from "@oma/client/gen/oma/v1/session_pb.js";
import type { RpcClient } from "../../client/rpc-client.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { headSeq, newSession, readAll, S, texts } from "./session-helpers.js";

const leases = { feature: "session.leases", level: "MUST" } as const;
const leaseLost = { code: "FAILED_PRECONDITION", reason: "LEASE_LOST" } as const;
const leaseHeld = { code: "FAILED_PRECONDITION", reason: "LEASE_HELD" } as const;
const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export const leaseCases: ConformanceCase[] = [
  {
    ...leases,
    id: "session/SESS-10/one-live-lease",
    requirement: "SESS-10",
    title: "a second AcquireLease while one is live is LEASE_HELD naming the holder; appends with the live epoch succeed",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const lease = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "brain-a" })).lease;
      check(lease && lease.epoch > 0n, `AcquireLease must return a lease with a positive epoch, got ${lease?.epoch}`);
      checkEqual(lease.holder, "brain-a", "holder");
      const err = await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "brain-b" }), leaseHeld, "a second AcquireLease");
      checkEqual(err.metadata["holder"], "brain-a", "metadata holder");
      checkEqual(err.metadata["epoch"], String(lease.epoch), "metadata epoch");
      const ok = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("fenced"), leaseEpoch: lease.epoch });
      checkEqual(ok.event?.seq, 1, "seq of an append with the live epoch");
    },
  },
  {
    ...leases,
    id: "session/SESS-10/stale-epoch-fenced",
    requirement: "SESS-10",
    title: "after release and re-acquire, the old epoch's appends, renewals and releases are LEASE_LOST and write nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "a" })).lease!;
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      const b = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "b" })).lease!;
      check(b.epoch > a.epoch, `a new lease must have a greater epoch: ${b.epoch} after ${a.epoch}`);
      const err = await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("stale"), leaseEpoch: a.epoch }),
        leaseLost,
        "EmitEvent with the released epoch",
      );
      checkEqual(err.metadata["current_epoch"], String(b.epoch), "metadata current_epoch");
      await expectFailure(
        ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("s1"), userText("s2")], leaseEpoch: a.epoch }),
        leaseLost,
        "EmitEvents with the released epoch",
      );
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("never"), leaseEpoch: b.epoch + 100n }), leaseLost, "EmitEvent with an epoch never issued");
      await expectFailure(ctx.rpc.unary(S.renewLease, { sessionId, epoch: a.epoch }), leaseLost, "RenewLease of the old epoch");
      await expectFailure(ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch }), leaseLost, "ReleaseLease of the old epoch");
      checkEqual(await headSeq(ctx, sessionId), 0, "head after fenced appends");
      const session = (await ctx.rpc.unary(S.getSession, { sessionId })).session;
      checkEqual(session?.lease?.epoch, b.epoch, "the live lease is still b's");
    },
  },
  {
    ...leases,
    id: "session/SESS-10/expired-lease-taken-over",
    requirement: "SESS-10",
    title: "an expired lease can be taken over with a greater epoch; the expired holder is then fenced",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "a", ttl: seconds(1) })).lease!;
      await sleep(1600, ctx.signal);
      const b = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "b", ttl: seconds(30) })).lease!;
      check(b.epoch > a.epoch, `the takeover epoch ${b.epoch} must exceed ${a.epoch}`);
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("late"), leaseEpoch: a.epoch }), leaseLost, "an append of the expired holder");
      await expectFailure(ctx.rpc.unary(S.renewLease, { sessionId, epoch: a.epoch }), leaseLost, "a renewal by the expired holder");
    },
  },
  {
    ...leases,
    id: "session/SESS-10/fencing-race-two-holders",
    requirement: "SESS-10",
    title: "two holders on separate connections race: only the live epoch's appends land, the paused one is fenced",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const one = ctx.newClient();
      const two = ctx.newClient();
      const a = await holdAndAppend(one, sessionId, "paused-brain", "a-before");
      await sleep(1600, ctx.signal);
      const b = (await two.unary(S.acquireLease, { sessionId, holder: "successor", ttl: seconds(30) })).lease!;
      const rounds = 20;
      const results = await Promise.allSettled(
        Array.from({ length: rounds }, (_, i) => [
          one.unary(S.emitEvent, { sessionId, event: userText(`a${i}`), leaseEpoch: a.epoch }),
          two.unary(S.emitEvent, { sessionId, event: userText(`b${i}`), leaseEpoch: b.epoch }),
        ]).flat(),
      );
      const stale = results.filter((_, i) => i % 2 === 0);
      check(stale.every((r) => r.status === "rejected" && (r.reason as { reason?: string }).reason === "LEASE_LOST"), "every append of the paused holder must be LEASE_LOST");
      check(results.filter((_, i) => i % 2 === 1).every((r) => r.status === "fulfilled"), "every append of the live holder must succeed");
      const log = texts(await readAll(ctx, sessionId));
      check(!log.some((t) => /^a\d+$/.test(t ?? "")), `no append of the paused holder may be in the log: ${log.join(",")}`);
      checkEqual(log.length, 1 + rounds, "events in the log");
    },
  },
  {
    ...leases,
    id: "session/SESS-10/concurrent-acquire-one-wins",
    requirement: "SESS-10",
    title: "of 8 concurrent AcquireLease calls exactly one is granted; the rest are LEASE_HELD",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const clients = Array.from({ length: 4 }, () => ctx.newClient());
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => clients[i % 4]!.unary(S.acquireLease, { sessionId, holder: `h${i}` })),
      );
      checkEqual(results.filter((r) => r.status === "fulfilled").length, 1, "granted leases");
      check(
        results.every((r) => r.status === "fulfilled" || (r.reason as { reason?: string }).reason === "LEASE_HELD"),
        "the losers must get LEASE_HELD",
      );
    },
  },
  {
    ...leases,
    id: "session/SESS-10/renew-extends",
    requirement: "SESS-10",
    title: "RenewLease keeps the epoch and moves expire_time later; a renewed lease outlives its first TTL",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      // The renewal comes 0.5 s into a 6 s lease (leaving a loaded target 5.5 s to answer);
      // the append comes after the first TTL has passed, measured from before the acquire.
      const acquiredBy = Date.now();
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "a", ttl: seconds(6) })).lease!;
      await sleep(500, ctx.signal);
      const renewed = (await ctx.rpc.unary(S.renewLease, { sessionId, epoch: a.epoch, ttl: seconds(20) })).lease!;
      checkEqual(renewed.epoch, a.epoch, "epoch after renewal");
      check((renewed.expireTime?.seconds ?? 0n) > (a.expireTime?.seconds ?? 0n), "expire_time must move later");
      await sleep(Math.max(0, acquiredBy + 6500 - Date.now()), ctx.signal);
      const ok = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("still mine"), leaseEpoch: a.epoch });
      checkEqual(ok.event?.seq, 1, "an append after the first TTL passed");
    },
  },
  {
    ...leases,
    id: "session/SESS-15/lease-visible-while-live",
    requirement: "SESS-15",
    title: "GetSession shows the live lease, and no lease after release or expiry",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const lease = async () => (await ctx.rpc.unary(S.getSession, { sessionId })).session?.lease;
      check((await lease()) === undefined, "a new session has no lease");
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "visible" })).lease!;
      const shown = await lease();
      check(shown?.epoch === a.epoch && shown.holder === "visible", `GetSession.lease must show the live lease, got epoch ${String(shown?.epoch)}`);
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      check((await lease()) === undefined, "no lease after release");
      await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "short", ttl: seconds(1) });
      await sleep(1500, ctx.signal);
      check((await lease()) === undefined, "no lease after expiry");
    },
  },
  {
    ...leases,
    id: "session/SESS-16/ttl-and-holder-bounds",
    requirement: "SESS-16",
    title: "TTLs under 1 s or over 10 min and holders empty or over 128 bytes are INVALID_FIELD; unset TTL is 30 s",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const invalid = { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" } as const;
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h", ttl: seconds(0.5) }), { ...invalid, field: "ttl" }, "ttl 0.5 s");
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h", ttl: seconds(601) }), { ...invalid, field: "ttl" }, "ttl 601 s");
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "" }), { ...invalid, field: "holder" }, "empty holder");
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h".repeat(129) }), { ...invalid, field: "holder" }, "129-byte holder");
      check((await ctx.rpc.unary(S.getSession, { sessionId })).session?.lease === undefined, "rejected acquisitions leave no lease");
      const t0 = Date.now();
      const lease = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h".repeat(128) })).lease!;
      const ttl = Number(lease.expireTime?.seconds ?? 0n) * 1000 - t0;
      check(ttl > 25_000 && ttl < 35_000, `an unset TTL must be 30 s, expire_time is ${ttl} ms away`);
      await expectFailure(ctx.rpc.unary(S.renewLease, { sessionId, epoch: lease.epoch, ttl: seconds(0.2) }), { ...invalid, field: "ttl" }, "renew with ttl 0.2 s");
    },
  },
  {
    ...leases,
    level: "SHOULD",
    id: "session/SESS-17/release-idempotent",
    requirement: "SESS-17",
    title: "releasing the epoch that was live twice succeeds",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "a" })).lease!;
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
    },
  },
];

/** Tries of `holdAndAppend` before the case gives up on the target. */
const HOLD_TRIES = 5;

/**
 * Takes a 1 s lease and appends `text` under it. On a busy host the append can arrive after
 * that second; then the lease has expired and is simply taken again (a greater epoch), so
 * what the case races afterwards never depends on how fast the host is.
 */
async function holdAndAppend(client: RpcClient, sessionId: string, holder: string, text: string): Promise<Lease> {
  for (let attempt = 1; ; attempt++) {
    const lease = (await client.unary(S.acquireLease, { sessionId, holder, ttl: seconds(1) })).lease!;
    try {
      await client.unary(S.emitEvent, { sessionId, event: userText(text), leaseEpoch: lease.epoch });
      return lease;
    } catch (err) {
      if ((err as { reason?: string }).reason !== "LEASE_LOST" || attempt === HOLD_TRIES) throw err;
    }
  }
}
