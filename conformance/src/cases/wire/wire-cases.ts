import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { watch } from "../watch.js";
import { appendTexts, newSession, S } from "../session/session-helpers.js";

const known = new Set(["session.core", "session.leases", "sandbox.core", "sandbox.stream", "sandbox.isolation", "sandbox.disk", "harness.core", "harness.auto_rewake", "harness.context"]);

export const wireCases: ConformanceCase[] = [
  {
    id: "wire/WIRE-9/server-info",
    requirement: "WIRE-9",
    level: "MUST",
    feature: "core",
    title: "GetServerInfo (empty request) names the implementation, version, spec 1.0, known features and positive limits",
    async run(ctx) {
      const info = await ctx.rpc.unary(ServerInfoService.method.getServerInfo, {});
      check(info.implementation !== "", "implementation must be named");
      check(info.version !== "", "version must be set");
      checkEqual(info.specVersion, "1.0", "spec_version");
      const unknown = info.features.filter((f) => !known.has(f));
      if (unknown.length) ctx.note(`features this suite does not know (not tested): ${unknown.join(", ")}`);
      const l = info.limits;
      check(l !== undefined, "limits must be reported (WIRE-5)");
      for (const [name, v] of Object.entries({ maxEventBytes: l.maxEventBytes, maxBatchBytes: l.maxBatchBytes, maxBatchEvents: l.maxBatchEvents, maxPageSize: l.maxPageSize, maxOutputBytes: l.maxOutputBytes, maxWatchLagEvents: l.maxWatchLagEvents })) {
        check(v > 0, `limits.${name} must be positive, got ${v}`);
      }
    },
  },
  {
    id: "wire/WIRE-7/unknown-method",
    requirement: "WIRE-7",
    level: "MUST",
    feature: "core",
    title: "an unknown method of a known service, and an unknown service, are UNIMPLEMENTED",
    async run(ctx) {
      await expectFailure(ctx.rpc.unaryUnknownMethod("oma.v1.SessionService", "NoSuchMethod"), { code: "UNIMPLEMENTED" }, "SessionService/NoSuchMethod");
      await expectFailure(ctx.rpc.unaryUnknownMethod("oma.v1.NoSuchService", "GetServerInfo"), { code: "UNIMPLEMENTED" }, "NoSuchService/GetServerInfo");
    },
  },
  {
    id: "wire/WIRE-3/error-info-on-every-error",
    requirement: "WIRE-3",
    level: "MUST",
    feature: "session.core",
    title: "errors carry ErrorInfo (domain oma.dev, reason, metadata) and field errors name the field in metadata and BadRequest",
    async run(ctx) {
      const sessionId = ctx.uniqueId("missing");
      const notFound = await expectFailure(ctx.rpc.unary(S.getSession, { sessionId }), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, "GetSession of an unknown id");
      checkEqual(notFound.domain, "oma.dev", "ErrorInfo.domain");
      checkEqual(notFound.metadata["session_id"], sessionId, "metadata session_id");
      const bad = await expectFailure(ctx.rpc.unary(S.getSession, {}), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" }, "GetSession with an empty request");
      checkEqual(bad.metadata["field"], "session_id", "metadata field");
      check(bad.badRequestFields.includes("session_id"), `a BadRequest detail must name session_id, got ${JSON.stringify(bad.badRequestFields)}`);
    },
  },
  {
    id: "wire/WIRE-3/empty-requests",
    requirement: "WIRE-3",
    level: "MUST",
    feature: "session.core",
    title: "empty requests are answered with INVALID_FIELD naming the missing field (or succeed where all fields are optional)",
    async run(ctx) {
      const invalid = { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD" } as const;
      await expectFailure(ctx.rpc.unary(S.createSession, {}), { ...invalid, field: "agent" }, "CreateSession {}");
      await expectFailure(ctx.rpc.unary(S.emitEvent, {}), { ...invalid, field: "session_id" }, "EmitEvent {}");
      await expectFailure(ctx.rpc.unary(S.emitEvents, {}), { ...invalid, field: "session_id" }, "EmitEvents {}");
      await expectFailure(ctx.rpc.unary(S.getEvents, {}), { ...invalid, field: "session_id" }, "GetEvents {}");
      await expectFailure(ctx.rpc.unary(S.deleteSession, {}), { ...invalid, field: "session_id" }, "DeleteSession {}");
      const watchLog = await watch(ctx, "", { until: () => false, withinMs: 5000, allowEnd: true });
      check(watchLog.error?.codeName === "INVALID_ARGUMENT" && watchLog.error.reason === "INVALID_FIELD", `WatchEvents {}: expected INVALID_ARGUMENT/INVALID_FIELD, got ${watchLog.error?.describe() ?? "no error"}`);
      await ctx.rpc.unary(S.listSessions, {});
    },
  },
  {
    id: "wire/WIRE-8/server-id-prefixes",
    requirement: "WIRE-8",
    level: "MUST",
    feature: "session.core",
    title: "server-assigned session and event ids carry their type prefix (ses_, evt_) and the id grammar",
    async run(ctx) {
      const session = (await ctx.rpc.unary(S.createSession, { agent: { model: "m" } })).session!;
      const grammar = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
      check(session.sessionId.startsWith("ses_") && grammar.test(session.sessionId), `session id ${session.sessionId}`);
      const event = (await ctx.rpc.unary(S.emitEvent, { sessionId: session.sessionId, event: userText("x") })).event!;
      check(event.id.startsWith("evt_") && grammar.test(event.id), `event id ${event.id}`);
      const batch = await ctx.rpc.unary(S.emitEvents, { sessionId: session.sessionId, events: [userText("y"), userText("z")] });
      check(batch.events.every((e) => e.id.startsWith("evt_")), `batch event ids ${batch.events.map((e) => e.id).join(", ")}`);
    },
  },
  {
    id: "wire/WIRE-7/deadline-exceeded",
    requirement: "WIRE-7",
    level: "MUST",
    feature: "session.core",
    title: "a watch with a deadline ends with DEADLINE_EXCEEDED after delivering the replay, also when only the server enforces it; the server carries on",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 2);
      const log = await watch(ctx, sessionId, { until: () => false, withinMs: 10_000, allowEnd: true, timeoutMs: ctx.scaled(1000) });
      checkEqual(log.events.length, 2, "events before the deadline");
      check(log.error?.codeName === "DEADLINE_EXCEEDED", `expected DEADLINE_EXCEEDED, got ${log.error?.describe() ?? "a clean end"}`);
      // The same deadline told to the server only: the status is the server's own, never OK.
      const served = await watch(ctx, sessionId, { until: () => false, withinMs: 5000, allowEnd: true, serverTimeoutMs: ctx.scaled(1000) });
      checkEqual(served.events.length, 2, "events before a deadline only the server enforces");
      check(served.error?.codeName === "DEADLINE_EXCEEDED", `a deadline only the server enforces: expected DEADLINE_EXCEEDED, got ${served.error?.describe() ?? "a clean end"}`);
      const after = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("after") });
      checkEqual(after.event?.seq, 3, "an append after the deadline");
    },
  },
  {
    id: "wire/WIRE-7/cancel-mid-stream",
    requirement: "WIRE-7",
    level: "MUST",
    feature: "session.core",
    title: "300 watches cancelled mid-stream leave the server serving watches and appends (their resources are released)",
    timeoutMs: 60_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 3);
      // Ten at a time: never more than ten are open, so a server that releases nothing runs
      // out and a watch past its limit never starts; any bound catches that, and 15 s leaves
      // room for a target whose machine is busy.
      for (let round = 0; round < 30; round++) {
        const logs = await Promise.all(Array.from({ length: 10 }, () => watch(ctx, sessionId, { until: (l) => l.events.length >= 1, withinMs: 15_000 })));
        logs.forEach((log, i) => checkEqual(log.events[0]?.seq, 1, `first event of watch ${round * 10 + i}`));
      }
      const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText("after") });
      checkEqual(res.event?.seq, 4, "an append after the cancelled watches");
      const live = await watch(ctx, sessionId, { until: (l) => l.caughtUp.length > 0, withinMs: 5000 });
      checkEqual(live.caughtUp[0], 4, "caught_up of a fresh watch");
    },
  },
];

