import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged } from "../events.js";
import { newSession, S } from "./session-helpers.js";

// Listing cost may grow with everything else on a shared server; these get a wider bound.
const core = { feature: "session.core", level: "MUST", timeoutMs: 60_000 } as const;

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
];
