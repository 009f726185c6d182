// Two servers of one system over one store (`--target A --target B`): the log's rules hold
// across them (SPEC 2.1, SESS-23..25). Every case writes through both servers.
import type { RpcClient } from "../../client/rpc-client.js";
import type { CaseContext, ConformanceCase, OtherTarget } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { watch } from "../watch.js";
import { headSeq, newSession, readAll, S, texts } from "../session/session-helpers.js";

const twoTargets = { level: "MUST", needs: ["two-targets"] } as const;
const leaseLost = { code: "FAILED_PRECONDITION", reason: "LEASE_LOST" } as const;
const leaseHeld = { code: "FAILED_PRECONDITION", reason: "LEASE_HELD" } as const;
const headMismatch = { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" } as const;

/** The second server; the runner skips these cases without one, so it is always there. */
function otherOf(ctx: CaseContext): OtherTarget {
  check(ctx.other, "the case needs a second target");
  return ctx.other;
}

const seqs = (events: readonly { seq: bigint }[]) => events.map((e) => Number(e.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const crossServerCases: ConformanceCase[] = [
  {
    ...twoTargets,
    feature: "session.core",
    id: "cross-server/SESS-23/watch-order-across-servers",
    requirement: "SESS-23",
    title: "appends racing through both servers get one gapless order, and a watcher on each server sees all of it, the same, replay and live",
    timeoutMs: 20_000,
    async run(ctx) {
      const b = otherOf(ctx);
      const sessionId = await newSession(ctx);
      // Replay: events written through both servers before the watches start.
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("r1") });
      await b.rpc.unary(S.emitEvent, { sessionId, event: userText("r2") });
      await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("r3"), userText("r4")] });
      // Live: 24 appends at once, alternating servers, every fourth a batch of two.
      const live = Array.from({ length: 24 }, (_, i) => ({ via: i % 2 === 0 ? ctx.rpc : b.rpc, texts: i % 4 === 3 ? [`l${i}a`, `l${i}b`] : [`l${i}`] }));
      const total = 4 + live.reduce((n, a) => n + a.texts.length, 0);
      let caughtUp = 0;
      let allCaughtUp!: () => void;
      const bothCaughtUp = new Promise<void>((resolve) => (allCaughtUp = resolve));
      const watcher = (client: RpcClient) => {
        let counted = false;
        return watch(ctx, sessionId, {
          client,
          withinMs: 10_000,
          onMessage: (l) => {
            if (l.caughtUp.length > 0 && !counted) {
              counted = true;
              if (++caughtUp === 2) allCaughtUp();
            }
          },
          until: (l) => l.events.length >= total,
        });
      };
      const watches = [watcher(ctx.newClient()), watcher(b.newClient())];
      await Promise.race([bothCaughtUp, Promise.all(watches)]);
      const acks = await Promise.all(
        live.map((a) =>
          a.texts.length === 1
            ? a.via.unary(S.emitEvent, { sessionId, event: userText(a.texts[0]!) }).then((r) => (r.event ? [r.event] : []))
            : a.via.unary(S.emitEvents, { sessionId, events: a.texts.map((t) => userText(t)) }).then((r) => r.events),
        ),
      );
      const [onA, onB] = await Promise.all(watches);
      const acked = acks.flat();
      checkEqual(acked.length, total - 4, "events acknowledged by the live appends");
      for (const [name, log] of [["first target's", onA!], ["second target's", onB!]] as const) {
        checkDeepEqual(seqs(log.events), range(1, total), `seqs the ${name} watcher saw`);
        checkDeepEqual(log.caughtUp, [4], `caught_up heads on the ${name} watch (after the 4 events written through both servers)`);
      }
      checkDeepEqual(onB!.events.map((e) => e.id), onA!.events.map((e) => e.id), "event ids, in order, seen by the two watchers");
      const watched = new Map(onA!.events.map((e) => [e.id, Number(e.seq)]));
      for (const e of acked) checkEqual(watched.get(e.id), Number(e.seq), `the watched seq of ${e.id}, acknowledged through one of the servers`);
      const emitted = ["r1", "r2", "r3", "r4", ...live.flatMap((a) => a.texts)].sort();
      checkDeepEqual([...texts(onA!.events)].sort(), emitted, "texts the watchers saw, written through both servers");
      checkDeepEqual((await readAll(ctx, sessionId, b.rpc)).map((e) => e.id), onA!.events.map((e) => e.id), "the log read through the second target");
    },
  },
  {
    ...twoTargets,
    feature: "session.core",
    id: "cross-server/SESS-23/expected-head-across-servers",
    requirement: "SESS-23",
    title: "expected_head_seq is checked against the shared log: a head moved by the other server is HEAD_SEQ_MISMATCH, and of two racing writers on two servers one wins",
    async run(ctx) {
      const b = otherOf(ctx);
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("a1") });
      const second = await b.rpc.unary(S.emitEvent, { sessionId, event: userText("b2"), expectedHeadSeq: 1n });
      checkEqual(second.event?.seq, 2, "seq of an append through the second target at the head written through the first");
      const err = await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("stale"), expectedHeadSeq: 1n }), headMismatch, "an append through the first target at a head the second moved on");
      checkEqual(err.metadata["head_seq"], "2", "metadata head_seq");
      await expectFailure(b.rpc.unary(S.emitEvents, { sessionId, events: [userText("x"), userText("y")], expectedHeadSeq: 0n }), headMismatch, "a batch through the second target expecting an empty log");
      const racing = await Promise.allSettled([
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("race-a"), expectedHeadSeq: 2n }),
        b.rpc.unary(S.emitEvent, { sessionId, event: userText("race-b"), expectedHeadSeq: 2n }),
      ]);
      const won = racing.filter((r) => r.status === "fulfilled");
      checkEqual(won.length, 1, "writers at head 2 (one through each server) that succeeded");
      const lost = racing.find((r) => r.status === "rejected");
      check((lost?.reason as { reason?: string } | undefined)?.reason === "HEAD_SEQ_MISMATCH", "the other racing writer must get HEAD_SEQ_MISMATCH");
      checkEqual(await headSeq(ctx, sessionId), 3, "head through the first target");
      checkEqual(await headSeq(ctx, sessionId, b.rpc), 3, "head through the second target");
      const log = texts(await readAll(ctx, sessionId));
      checkDeepEqual(log.slice(0, 2), ["a1", "b2"], "the log's first events");
      check(log.length === 3 && (log[2] === "race-a" || log[2] === "race-b"), `the log must end with the one winner: ${log.join(",")}`);
    },
  },
  {
    ...twoTargets,
    feature: "session.leases",
    id: "cross-server/SESS-24/lease-fences-across-servers",
    requirement: "SESS-24",
    title: "a lease taken through one server is LEASE_HELD through the other; once a greater epoch is taken through the second, the old epoch is LEASE_LOST through the first and writes nothing",
    async run(ctx) {
      const b = otherOf(ctx);
      const sessionId = await newSession(ctx);
      const a = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "brain-on-a", ttl: { seconds: 30n } })).lease!;
      const held = await expectFailure(b.rpc.unary(S.acquireLease, { sessionId, holder: "brain-on-b" }), leaseHeld, "AcquireLease through the second target while the first's lease is live");
      checkEqual(held.metadata["epoch"], String(a.epoch), "metadata epoch of LEASE_HELD");
      const viaB = await b.rpc.unary(S.emitEvent, { sessionId, event: userText("a-via-b"), leaseEpoch: a.epoch });
      checkEqual(viaB.event?.seq, 1, "an append through the second target with the live epoch taken through the first");
      // The first lease ends through the second server, and a greater epoch is taken there:
      // the first server must learn both from the store, not from what passed through it.
      await b.rpc.unary(S.releaseLease, { sessionId, epoch: a.epoch });
      const next = (await b.rpc.unary(S.acquireLease, { sessionId, holder: "brain-on-b", ttl: { seconds: 30n } })).lease!;
      check(next.epoch > a.epoch, `the epoch taken through the second target must be greater: ${next.epoch} after ${a.epoch}`);
      const lost = await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("stale-one"), leaseEpoch: a.epoch }), leaseLost, "EmitEvent through the first target with its old epoch");
      checkEqual(lost.metadata["current_epoch"], String(next.epoch), "metadata current_epoch");
      await expectFailure(ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("stale-1"), userText("stale-2")], leaseEpoch: a.epoch }), leaseLost, "EmitEvents through the first target with its old epoch");
      await expectFailure(ctx.rpc.unary(S.renewLease, { sessionId, epoch: a.epoch }), leaseLost, "RenewLease through the first target of its old epoch");
      await expectFailure(ctx.rpc.unary(S.acquireLease, { sessionId, holder: "brain-on-a" }), leaseHeld, "AcquireLease through the first target while the second's lease is live");
      const ok = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("b-via-a"), leaseEpoch: next.epoch });
      checkEqual(ok.event?.seq, 2, "an append through the first target with the live epoch taken through the second");
      checkDeepEqual(texts(await readAll(ctx, sessionId, b.rpc)), ["a-via-b", "b-via-a"], "the log: no append of the old epoch");
    },
  },
  {
    ...twoTargets,
    feature: "session.core",
    id: "cross-server/SESS-25/idempotent-retry-across-servers",
    requirement: "SESS-25",
    title: "a keyed append retried through the other server returns the original events (ids, seqs, duplicate) and writes nothing; a key sent to both at once appends once",
    async run(ctx) {
      const b = otherOf(ctx);
      const sessionId = await newSession(ctx);
      await b.rpc.unary(S.emitEvent, { sessionId, event: userText("first") });
      const one = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("keyed"), idempotencyKey: "k-one" });
      const oneAgain = await b.rpc.unary(S.emitEvent, { sessionId, event: userText("keyed"), idempotencyKey: "k-one" });
      checkEqual(oneAgain.duplicate, true, "duplicate of the retry through the second target");
      checkEqual(oneAgain.event?.id, one.event?.id, "event id of the retry");
      checkEqual(oneAgain.event?.seq, one.event?.seq, "seq of the retry");
      const batch = await b.rpc.unary(S.emitEvents, { sessionId, events: [userText("b1"), userText("b2")], idempotencyKey: "k-batch" });
      const batchAgain = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("b1"), userText("b2")], idempotencyKey: "k-batch" });
      checkEqual(batchAgain.duplicate, true, "duplicate of the batch retried through the first target");
      checkDeepEqual(batchAgain.events.map((e) => [e.id, e.seq]), batch.events.map((e) => [e.id, e.seq]), "ids and seqs of the retried batch");
      await expectFailure(
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("other content"), idempotencyKey: "k-one" }),
        { code: "FAILED_PRECONDITION", reason: "IDEMPOTENCY_KEY_REUSED" },
        "the first key with other content, through the first target",
      );
      const both = await Promise.all([
        ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("raced"), idempotencyKey: "k-race" }),
        b.rpc.unary(S.emitEvent, { sessionId, event: userText("raced"), idempotencyKey: "k-race" }),
      ]);
      checkEqual(both[0].event?.id, both[1].event?.id, "event id of one key sent to both servers at once");
      checkEqual(both.filter((r) => !r.duplicate).length, 1, "answers to one key sent to both servers at once that are not duplicates");
      checkEqual(await headSeq(ctx, sessionId), 5, "head after the retries (first, keyed, a batch of two, raced)");
      checkDeepEqual(texts(await readAll(ctx, sessionId)), ["first", "keyed", "b1", "b2", "raced"], "the log");
    },
  },
];
