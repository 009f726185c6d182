import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { watch } from "../watch.js";
import { H, say, scriptedSession, text } from "../harness/harness-helpers.js";
import { X } from "../sandbox/sandbox-helpers.js";
import { newSession, S } from "../session/session-helpers.js";
import { checkPageTokens, pageAll, sessionListToken, type ListUnderTest } from "./page-tokens.js";

const negative = { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "page_size" } as const;

/** WIRE-4 on every List RPC: sizes, exactly-once paging, and page tokens bound to their query. */
export const pagingCases: ConformanceCase[] = [
  {
    id: "wire/WIRE-4/bad-page-size-and-tokens",
    requirement: "WIRE-4",
    level: "MUST",
    feature: "session.core",
    timeoutMs: 60_000,
    title: "ListSessions: a negative page_size is INVALID_FIELD; tokens forged, altered, with an id swapped or other filters are INVALID_PAGE_TOKEN",
    async run(ctx) {
      const tag = ctx.uniqueId("t").toLowerCase();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await newSession(ctx, { "conf.run": tag }));
      await expectFailure(ctx.rpc.unary(S.listSessions, { pageSize: -1 }), negative, "ListSessions with page_size -1");
      const list: ListUnderTest = {
        name: "ListSessions",
        async page(pageSize, pageToken, filters = "own") {
          const labels = { "conf.run": filters === "own" ? tag : `${tag}-other` };
          const res = await ctx.rpc.unary(S.listSessions, { pageSize, pageToken, labels });
          return { ids: res.sessions.map((s) => s.sessionId), nextPageToken: res.nextPageToken };
        },
      };
      await checkPageTokens(list, [...ids].reverse(), undefined);
      // The same labels, but a status filter too: still another query.
      const first = await list.page(1, "");
      await expectFailure(
        ctx.rpc.unary(S.listSessions, { pageSize: 1, pageToken: first.nextPageToken, labels: { "conf.run": tag }, status: SessionStatus.IDLE }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_PAGE_TOKEN" },
        "ListSessions with a genuine token and a status filter added",
      );
    },
  },
  {
    id: "wire/WIRE-4/sandbox-paging",
    requirement: "WIRE-4",
    level: "MUST",
    feature: "sandbox.core",
    timeoutMs: 90_000,
    title: "ListSandboxes: negative page_size is INVALID_FIELD; paging returns each sandbox once; tokens it never issued for the query are INVALID_PAGE_TOKEN",
    async run(ctx) {
      await expectFailure(ctx.rpc.unary(X.listSandboxes, { pageSize: -5 }), negative, "ListSandboxes with page_size -5");
      const sessionId = ctx.uniqueId("conf");
      const ids: string[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const res = await ctx.rpc.unary(X.provision, { sessionId, labels: { "conf.case": "1" } }, { timeoutMs: ctx.scaled(60_000) });
          ids.push(res.sandbox!.sandboxId);
        }
        const list: ListUnderTest = {
          name: "ListSandboxes",
          async page(pageSize, pageToken, filters = "own") {
            const res = await ctx.rpc.unary(X.listSandboxes, { pageSize, pageToken, sessionId: filters === "own" ? sessionId : `${sessionId}-other` });
            return { ids: res.sandboxes.map((s) => s.sandboxId), nextPageToken: res.nextPageToken };
          },
        };
        for (const size of [1, 2, 3]) {
          const all = await pageAll(list, size);
          checkDeepEqual([...all.ids].sort(), [...ids].sort(), `sandboxes of the session paged by ${size}`);
          checkEqual(all.tokens.length, Math.ceil(3 / size) - 1, `next_page_tokens with page_size ${size} (none on the last page)`);
        }
        await checkPageTokens(list, ids, await sessionListToken(ctx));
      } finally {
        for (const sandboxId of ids) await ctx.rpc.unary(X.destroySandbox, { sandboxId }, { timeoutMs: ctx.scaled(30_000) }).catch(() => undefined);
      }
    },
  },
  {
    id: "wire/WIRE-4/harness-paging",
    requirement: "WIRE-4",
    level: "MUST",
    feature: "harness.core",
    needs: ["harness"],
    timeoutMs: 60_000,
    title: "ListHarnesses: negative page_size is INVALID_FIELD; with two live brains, tokens it never issued for the query are INVALID_PAGE_TOKEN",
    async run(ctx) {
      await expectFailure(ctx.rpc.unary(H.listHarnesses, { pageSize: -1 }), negative, "ListHarnesses with page_size -1");
      // Two brains kept alive by slow model replies: slower than every wait of the case (on a
      // loaded target the second brain may take 15 s to start), so that the first one is
      // still alive when the brains are listed.
      const harnessIds: string[] = [];
      const sessions: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { sessionId } = await scriptedSession(ctx, byStep([{ ...text("slow"), latency: { firstByteMs: 40_000 } }]));
        const at = await say(ctx, sessionId, "hi");
        harnessIds.push((await ctx.rpc.unary(H.wake, { sessionId })).harnessId);
        sessions.push(sessionId);
        await watch(ctx, sessionId, { afterSeq: at, withinMs: 15_000, until: (l) => l.events.some((e) => e.payload.case === "harnessStarted") });
      }
      const list: ListUnderTest = {
        name: "ListHarnesses",
        async page(pageSize, pageToken, filters = "own") {
          const res = await ctx.rpc.unary(H.listHarnesses, { pageSize, pageToken, sessionId: filters === "own" ? "" : sessions[0]! });
          return { ids: res.harnesses.map((h) => h.harnessId), nextPageToken: res.nextPageToken };
        },
      };
      const all = await pageAll(list, 1);
      check(harnessIds.every((id) => all.ids.includes(id)), `ListHarnesses paged by 1 must list both live brains ${harnessIds.join(", ")}, got ${all.ids.join(", ")}`);
      checkEqual(new Set(all.ids).size, all.ids.length, "brains listed more than once");
      await checkPageTokens(list, harnessIds, await sessionListToken(ctx));
      // The brains need not wait out their replies.
      await Promise.all(sessions.map((sessionId) => ctx.rpc.unary(S.emitEvent, { sessionId, event: { payload: { case: "userInterrupt", value: { reason: "listed" } } } })));
    },
  },
];
