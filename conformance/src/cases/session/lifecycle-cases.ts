import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged, userText } from "../events.js";
import { watch } from "../watch.js";
import { appendTexts, headSeq, newSession, readAll, S, TEST_MODEL } from "./session-helpers.js";

const core = { feature: "session.core", level: "MUST" } as const;
const notFound = { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" } as const;

export const lifecycleCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-8/terminated-session-rejects-appends",
    requirement: "SESS-8",
    title: "after status_changed TERMINATED, appends are SESSION_TERMINATED and write nothing",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 1);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: statusChanged(SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT) });
      const terminated = { code: "FAILED_PRECONDITION", reason: "SESSION_TERMINATED" } as const;
      await expectFailure(ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("late") }), terminated, "EmitEvent on a terminated session");
      await expectFailure(ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("a"), userText("b")] }), terminated, "EmitEvents on a terminated session");
      const session = (await ctx.rpc.unary(S.getSession, { sessionId })).session;
      checkEqual(session?.status, SessionStatus.TERMINATED, "status");
      checkEqual(session?.headSeq, 2, "head");
    },
  },
  {
    ...core,
    feature: "session.leases",
    id: "session/SESS-8/terminated-session-rejects-leases",
    requirement: "SESS-8",
    title: "a terminated session grants no lease: SESSION_TERMINATED",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: statusChanged(SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT) });
      await expectFailure(
        ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h" }),
        { code: "FAILED_PRECONDITION", reason: "SESSION_TERMINATED" },
        "AcquireLease on a terminated session",
      );
    },
  },
  {
    ...core,
    id: "session/SESS-9/unknown-session",
    requirement: "SESS-9",
    title: "every SessionService RPC on an unknown session is NOT_FOUND / SESSION_NOT_FOUND",
    async run(ctx) {
      const sessionId = ctx.uniqueId("missing");
      const calls: [string, () => Promise<unknown>][] = [
        ["GetSession", () => ctx.rpc.unary(S.getSession, { sessionId })],
        ["EmitEvent", () => ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("x") })],
        ["EmitEvents", () => ctx.rpc.unary(S.emitEvents, { sessionId, events: [userText("x")] })],
        ["GetEvents", () => ctx.rpc.unary(S.getEvents, { sessionId })],
        ["DeleteSession", () => ctx.rpc.unary(S.deleteSession, { sessionId })],
      ];
      if (ctx.info.features.includes("session.leases")) {
        calls.push(["AcquireLease", () => ctx.rpc.unary(S.acquireLease, { sessionId, holder: "h" })]);
      }
      for (const [name, call] of calls) {
        const err = await expectFailure(call, notFound, `${name} on an unknown session`);
        checkEqual(err.metadata["session_id"], sessionId, `${name}: metadata session_id`);
      }
      const log = await watch(ctx, sessionId, { until: () => false, withinMs: 5000, allowEnd: true });
      check(log.error?.codeName === "NOT_FOUND" && log.error.reason === "SESSION_NOT_FOUND", `WatchEvents on an unknown session: expected NOT_FOUND/SESSION_NOT_FOUND, got ${log.error?.describe() ?? "a clean end"}`);
    },
  },
  {
    ...core,
    id: "session/SESS-9/create-rules",
    requirement: "SESS-9",
    title: "CreateSession with a taken id is SESSION_EXISTS; without agent.model INVALID_FIELD; server ids start with ses_",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 1);
      const err = await expectFailure(
        ctx.rpc.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } }),
        { code: "ALREADY_EXISTS", reason: "SESSION_EXISTS" },
        "CreateSession with a taken id",
      );
      checkEqual(err.metadata["session_id"], sessionId, "metadata session_id");
      checkEqual(await headSeq(ctx, sessionId), 1, "the existing session is untouched");
      await expectFailure(
        ctx.rpc.unary(S.createSession, { sessionId: ctx.uniqueId("nomodel"), agent: {} }),
        { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "agent" },
        "CreateSession without agent.model",
      );
      const fresh = await ctx.rpc.unary(S.createSession, { agent: { model: TEST_MODEL } });
      const id = fresh.session?.sessionId ?? "";
      check(/^ses_[A-Za-z0-9._-]+$/.test(id), `a server-chosen id must start with ses_ (WIRE-8), got ${JSON.stringify(id)}`);
      checkEqual(fresh.session?.status, SessionStatus.IDLE, "status of a new session");
      checkEqual(fresh.session?.headSeq, 0, "head of a new session");
    },
  },
  {
    ...core,
    id: "session/SESS-14/status-follows-last-status-event",
    requirement: "SESS-14",
    title: "status and stop_reason are those of the last status_changed event",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const get = async () => (await ctx.rpc.unary(S.getSession, { sessionId })).session;
      checkEqual((await get())?.status, SessionStatus.IDLE, "status with no status_changed");
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: statusChanged(SessionStatus.RUNNING) });
      await appendTexts(ctx, sessionId, 1);
      checkEqual((await get())?.status, SessionStatus.RUNNING, "status after RUNNING and another event");
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: statusChanged(SessionStatus.IDLE, StopReason.REQUIRES_ACTION) });
      const idle = await get();
      checkEqual(idle?.status, SessionStatus.IDLE, "status after IDLE");
      checkEqual(idle?.stopReason, StopReason.REQUIRES_ACTION, "stop_reason after IDLE/REQUIRES_ACTION");
    },
  },
  {
    ...core,
    id: "session/SESS-19/delete-removes-everything",
    requirement: "SESS-19",
    title: "after DeleteSession the id is unknown; re-created, it has an empty log and forgotten keys",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const key = ctx.uniqueId("key");
      await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("old"), idempotencyKey: key });
      await appendTexts(ctx, sessionId, 2);
      await ctx.rpc.unary(S.deleteSession, { sessionId });
      await expectFailure(ctx.rpc.unary(S.getSession, { sessionId }), notFound, "GetSession after delete");
      await expectFailure(ctx.rpc.unary(S.getEvents, { sessionId }), notFound, "GetEvents after delete");
      await expectFailure(ctx.rpc.unary(S.deleteSession, { sessionId }), notFound, "DeleteSession twice");
      await ctx.rpc.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
      checkEqual(await headSeq(ctx, sessionId), 0, "head of the re-created session");
      const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("new"), idempotencyKey: key });
      check(!res.duplicate, "an idempotency key of the deleted session must be forgotten");
      checkEqual(res.event?.seq, 1, "seq in the re-created session");
      checkEqual((await readAll(ctx, sessionId)).length, 1, "events in the re-created session");
    },
  },
  {
    ...core,
    feature: "session.leases",
    id: "session/SESS-19/delete-drops-lease",
    requirement: "SESS-19",
    title: "a re-created session has no lease left over from the deleted one",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "before-delete" });
      await ctx.rpc.unary(S.deleteSession, { sessionId });
      await ctx.rpc.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
      const session = (await ctx.rpc.unary(S.getSession, { sessionId })).session;
      check(session?.lease === undefined, `the re-created session must have no lease, got holder ${session?.lease?.holder}`);
      await ctx.rpc.unary(S.acquireLease, { sessionId, holder: "after-delete" });
    },
  },
  {
    ...core,
    id: "session/SESS-13/delete-ends-watches",
    requirement: "SESS-13",
    title: "deleting a session ends its open watches with NOT_FOUND / SESSION_NOT_FOUND",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 2);
      let deleted = false;
      const log = await watch(ctx, sessionId, {
        until: () => false,
        withinMs: 10_000,
        allowEnd: true,
        onMessage: async (l) => {
          if (l.caughtUp.length === 1 && !deleted) {
            deleted = true;
            await ctx.rpc.unary(S.deleteSession, { sessionId });
          }
        },
      });
      check(deleted, "the watch never sent caught_up");
      check(log.error?.codeName === "NOT_FOUND" && log.error.reason === "SESSION_NOT_FOUND", `the watch must end with NOT_FOUND/SESSION_NOT_FOUND, got ${log.error?.describe() ?? "a clean end"}`);
    },
  },
];
