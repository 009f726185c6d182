import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { X } from "../sandbox/sandbox-helpers.js";
import { appendMany, headSeq, newSession, readAll, S, texts } from "../session/session-helpers.js";
import { userTextOfSize } from "../session/sized-event.js";

const mismatch = { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" } as const;

/** WIRE-5 and WIRE-6: the bounds a server reports are the ones it enforces; a refusal leaves nothing. */
export const boundsCases: ConformanceCase[] = [
  {
    id: "wire/WIRE-5/reported-bounds-hold",
    requirement: "WIRE-5",
    level: "MUST",
    feature: "session.core",
    timeoutMs: 60_000,
    title: "the bounds GetServerInfo reports are the ones in force, to the unit: max_event_bytes, max_batch_events and max_page_size",
    async run(ctx) {
      const { maxEventBytes, maxBatchEvents, maxPageSize } = ctx.limits;
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userTextOfSize(maxEventBytes) });
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userTextOfSize(maxEventBytes + 1) }), { code: "INVALID_ARGUMENT", reason: "EVENT_TOO_LARGE" }, `an event of max_event_bytes + 1 (${maxEventBytes + 1})`);
      const batch = (n: number) => Array.from({ length: n }, (_, i) => userText(`b${i}`));
      await expectFailure(ctx.rpc.unary(S.emitEvents, { sessionId, events: batch(maxBatchEvents + 1) }), { code: "INVALID_ARGUMENT", reason: "BATCH_TOO_LARGE" }, `a batch of max_batch_events + 1 (${maxBatchEvents + 1})`);
      checkEqual((await ctx.rpc.unary(S.emitEvents, { sessionId, events: batch(maxBatchEvents) })).events.length, maxBatchEvents, "events of a batch of max_batch_events");
      const head = await headSeq(ctx, sessionId);
      if (head <= maxPageSize) await appendMany(ctx, sessionId, maxPageSize + 1 - head);
      const page = await ctx.rpc.unary(S.getEvents, { sessionId, limit: maxPageSize + 1 });
      checkEqual(page.events.length, maxPageSize, `events of a GetEvents with limit max_page_size + 1 (${maxPageSize + 1})`);
    },
  },
  {
    id: "wire/WIRE-6/rejected-requests-leave-nothing",
    requirement: "WIRE-6",
    level: "MUST",
    feature: "session.core",
    timeoutMs: 60_000,
    title: "an append refused for its head, its lease epoch or a bad event leaves its idempotency key unused; a refused Provision leaves no sandbox",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("one"), idempotencyKey: key, expectedHeadSeq: 5n }), mismatch, "an append with a wrong expected_head_seq");
      const first = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("one"), idempotencyKey: key });
      check(!first.duplicate && first.event?.seq === 1n, "the key of a refused append must still be free: its retry is a new append");
      const batchKey = ctx.uniqueId("key");
      await expectFailure(ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("two"), {}], idempotencyKey: batchKey }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" }, "a batch with an event without payload");
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("two"), userText("three")], idempotencyKey: batchKey });
      check(!batch.duplicate && batch.events.length === 2, "the key of a refused batch must still be free");
      if (ctx.info.features.includes("session.leases")) {
        const lease = (await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h" })).lease!;
        const leaseKey = ctx.uniqueId("key");
        await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("four"), idempotencyKey: leaseKey, leaseEpoch: lease.epoch + 1n }), { code: "FAILED_PRECONDITION", reason: "LEASE_LOST" }, "an append with a wrong lease epoch");
        const fenced = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("four"), idempotencyKey: leaseKey, leaseEpoch: lease.epoch });
        check(!fenced.duplicate, "the key of an append refused for its epoch must still be free");
        await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: lease.epoch });
      }
      const want = ctx.info.features.includes("session.leases") ? ["one", "two", "three", "four"] : ["one", "two", "three"];
      check(JSON.stringify(texts(await readAll(ctx, sessionId))) === JSON.stringify(want), "the log holds the accepted appends only");
      if (ctx.info.features.includes("sandbox.core")) {
        const owner = ctx.uniqueId("conf");
        await expectFailure(ctx.rpc.unary(X.provision, { sessionId: owner, resources: { cpu: 1000 } }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" }, "a Provision with cpu 1000");
        const left = await ctx.rpc.unary(X.listSandboxes, { sessionId: owner });
        checkEqual(left.sandboxes.length, 0, "sandboxes of a session whose Provision was refused");
      }
    },
  },
];
