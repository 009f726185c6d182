import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged } from "../events.js";
import { newSession, S } from "./session-helpers.js";

// Listing cost may grow with everything else on a shared server; these get a wider bound.
const core = { feature: "session.core", level: "MUST", timeoutMs: 60_000 } as const;
const badToken = { code: "INVALID_ARGUMENT", reason: "INVALID_PAGE_TOKEN" } as const;

/** Pages through ListSessions with the given filter; bounded at 100 pages. */
async function listAll(ctx: Parameters<ConformanceCase["run"]>[0], labels: Record<string, string>, pageSize: number, status = SessionStatus.UNSPECIFIED) {
  const ids: string[] = [];
  const tokens: string[] = [];
  let pageToken = "";
  for (let page = 0; page < 100; page++) {
    const res = await ctx.rpc.unary(S.listSessions, { pageSize, pageToken, labels, status });
    check(res.sessions.length <= pageSize, `a page of size ${pageSize} returned ${res.sessions.length} sessions`);
    ids.push(...res.sessions.map((s) => s.sessionId));
    if (res.nextPageToken === "") return { ids, tokens };
    tokens.push(res.nextPageToken);
    pageToken = res.nextPageToken;
  }
  throw new Error("ListSessions did not end within 100 pages");
}

export const listCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-18/newest-first-label-filter",
    requirement: "SESS-18",
    title: "ListSessions filtered by a run-unique label returns exactly those sessions, newest first",
    async run(ctx) {
      const tag = ctx.uniqueId("t").toLowerCase();
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        created.push(await newSession(ctx, { "conf.run": tag, "conf.parity": i % 2 ? "odd" : "even" }));
        await new Promise((r) => setTimeout(r, 5));
      }
      await newSession(ctx, { "conf.run": `${tag}-other` });
      const all = await listAll(ctx, { "conf.run": tag }, 50);
      checkDeepEqual(all.ids, [...created].reverse(), "sessions with the run's label, newest first");
      const odd = await listAll(ctx, { "conf.run": tag, "conf.parity": "odd" }, 50);
      checkDeepEqual(odd.ids, [created[3], created[1]], "sessions matching both labels");
    },
  },
  {
    ...core,
    id: "session/SESS-18/status-filter",
    requirement: "SESS-18",
    title: "ListSessions filtered by status returns only sessions in that status",
    async run(ctx) {
      const tag = ctx.uniqueId("t").toLowerCase();
      const idle = await newSession(ctx, { "conf.run": tag });
      const running = await newSession(ctx, { "conf.run": tag });
      await ctx.rpc.unary(S.emitEvent, { sessionId: running, event: statusChanged(SessionStatus.RUNNING) });
      checkDeepEqual((await listAll(ctx, { "conf.run": tag }, 10, SessionStatus.RUNNING)).ids, [running], "RUNNING sessions");
      checkDeepEqual((await listAll(ctx, { "conf.run": tag }, 10, SessionStatus.IDLE)).ids, [idle], "IDLE sessions");
    },
  },
  {
    ...core,
    id: "wire/WIRE-4/paging-exactly-once",
    requirement: "WIRE-4",
    title: "paging an unchanged collection returns every item exactly once; next_page_token is empty on the last page",
    async run(ctx) {
      const tag = ctx.uniqueId("t").toLowerCase();
      const created = new Set<string>();
      for (let i = 0; i < 7; i++) created.add(await newSession(ctx, { "conf.run": tag }));
      for (const size of [1, 2, 3, 7, 8]) {
        const { ids, tokens } = await listAll(ctx, { "conf.run": tag }, size);
        checkEqual(ids.length, 7, `sessions seen with page_size ${size}`);
        checkDeepEqual([...new Set(ids)].sort(), [...created].sort(), `distinct sessions with page_size ${size}`);
        checkEqual(tokens.length, Math.ceil(7 / size) - 1, `next_page_tokens with page_size ${size} (none on the last page)`);
      }
    },
  },
  {
    ...core,
    id: "wire/WIRE-4/bad-page-size-and-tokens",
    requirement: "WIRE-4",
    title: "a negative page_size is INVALID_FIELD; forged, altered or other-filter page tokens are INVALID_PAGE_TOKEN",
    async run(ctx) {
      const tag = ctx.uniqueId("t").toLowerCase();
      for (let i = 0; i < 3; i++) await newSession(ctx, { "conf.run": tag });
      await expectFailure(
        ctx.rpc.unary(S.listSessions, { pageSize: -1 }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "page_size" },
        "ListSessions with page_size -1",
      );
      const page = await ctx.rpc.unary(S.listSessions, { pageSize: 1, labels: { "conf.run": tag } });
      const token = page.nextPageToken;
      check(token !== "", "a first page of 1 of 3 sessions must carry a next_page_token");
      const forged = ["not-a-token", Buffer.from('{"offset":1}').toString("base64"), "x".repeat(200)];
      for (const pageToken of forged) {
        await expectFailure(ctx.rpc.unary(S.listSessions, { pageSize: 1, pageToken, labels: { "conf.run": tag } }), badToken, `forged token ${pageToken.slice(0, 20)}`);
      }
      const altered = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
      await expectFailure(ctx.rpc.unary(S.listSessions, { pageSize: 1, pageToken: altered, labels: { "conf.run": tag } }), badToken, "an altered token");
      await expectFailure(
        ctx.rpc.unary(S.listSessions, { pageSize: 1, pageToken: token, labels: { "conf.run": `${tag}-other` } }),
        badToken,
        "a token reused with other filters",
      );
      const next = await ctx.rpc.unary(S.listSessions, { pageSize: 1, pageToken: token, labels: { "conf.run": tag } });
      checkEqual(next.sessions.length, 1, "the genuine token still works");
    },
  },
];
