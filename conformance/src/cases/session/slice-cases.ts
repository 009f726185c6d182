import { EventOrder } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { appendMany, appendTexts, newSession, S } from "./session-helpers.js";

const core = { feature: "session.core", level: "MUST", requirement: "SESS-11" } as const;
const seqsOf = (res: { events: { seq: bigint }[] }) => res.events.map((e) => Number(e.seq));

export const sliceCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-11/ascending-slices",
    title: "ascending slices honour after_seq, before_seq and limit, and report head_seq",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 10);
      const get = (req: { afterSeq?: bigint; beforeSeq?: bigint; limit?: number; order?: EventOrder }) =>
        ctx.rpc.unary(S.getEvents, { sessionId, ...req });
      const all = await get({});
      checkDeepEqual(seqsOf(all), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "whole log");
      checkEqual(all.headSeq, 10, "head_seq");
      checkDeepEqual(seqsOf(await get({ afterSeq: 3n, limit: 4 })), [4, 5, 6, 7], "after 3, limit 4");
      checkDeepEqual(seqsOf(await get({ afterSeq: 2n, beforeSeq: 6n })), [3, 4, 5], "between 2 and 6");
      checkDeepEqual(seqsOf(await get({ afterSeq: 8n, order: EventOrder.ASCENDING })), [9, 10], "after 8, ascending");
      checkDeepEqual(seqsOf(await get({ afterSeq: 10n })), [], "after the head");
      checkDeepEqual(seqsOf(await get({ beforeSeq: 4n, limit: 10 })), [1, 2, 3], "before 4");
    },
  },
  {
    ...core,
    id: "session/SESS-11/descending-slices",
    title: "descending slices take from the high end ('rewind N before a moment') in descending order",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 10);
      const get = (req: { afterSeq?: bigint; beforeSeq?: bigint; limit?: number }) =>
        ctx.rpc.unary(S.getEvents, { sessionId, order: EventOrder.DESCENDING, ...req });
      checkDeepEqual(seqsOf(await get({ beforeSeq: 8n, limit: 3 })), [7, 6, 5], "3 before 8");
      checkDeepEqual(seqsOf(await get({ limit: 2 })), [10, 9], "last 2");
      checkDeepEqual(seqsOf(await get({ afterSeq: 5n, limit: 100 })), [10, 9, 8, 7, 6], "after 5, descending");
      checkDeepEqual(seqsOf(await get({ afterSeq: 2n, beforeSeq: 6n, limit: 2 })), [5, 4], "between 2 and 6, limit 2");
    },
  },
  {
    ...core,
    id: "session/SESS-11/bad-bounds",
    title: "negative bounds or limit are INVALID_FIELD; after_seq above the head is SEQ_OUT_OF_RANGE; before ≤ after is INVALID_FIELD",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 3);
      const invalid = { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" } as const;
      await expectFailure(ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: -1n }), { ...invalid, field: "after_seq" }, "after_seq -1");
      await expectFailure(ctx.rpc.unary(S.getEvents, { sessionId, beforeSeq: -1n }), { ...invalid, field: "before_seq" }, "before_seq -1");
      await expectFailure(ctx.rpc.unary(S.getEvents, { sessionId, limit: -1 }), { ...invalid, field: "limit" }, "limit -1");
      await expectFailure(ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: 2n, beforeSeq: 2n }), invalid, "before_seq equal to after_seq");
      const err = await expectFailure(
        ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: 4n }),
        { code: "OUT_OF_RANGE", reason: "SEQ_OUT_OF_RANGE" },
        "after_seq above the head",
      );
      checkEqual(err.metadata["head_seq"], "3", "metadata head_seq");
    },
  },
  {
    ...core,
    id: "session/SESS-11/limit-default-and-cap",
    title: "limit 0 returns 100 events; a limit above max_page_size is coerced to it",
    timeoutMs: 60_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const max = ctx.limits.maxPageSize;
      await appendMany(ctx, sessionId, max + 5);
      const dflt = await ctx.rpc.unary(S.getEvents, { sessionId });
      checkEqual(dflt.events.length, Math.min(100, max), "events with limit 0");
      const capped = await ctx.rpc.unary(S.getEvents, { sessionId, limit: max * 10 });
      checkEqual(capped.events.length, max, `events with limit ${max * 10}`);
      checkEqual(capped.events.at(-1)?.seq, max, "last seq of a capped slice");
      const rest = await ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: BigInt(max), limit: max * 10 });
      checkDeepEqual(seqsOf(rest), [1, 2, 3, 4, 5].map((i) => max + i), "the rest after a capped slice");
    },
  },
];
