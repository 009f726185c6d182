import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import type { RpcClient } from "../../client/rpc-client.js";
import { userText } from "../events.js";
import { H } from "../harness/harness-helpers.js";
import { X } from "../sandbox/sandbox-helpers.js";
import { S, TEST_MODEL } from "../session/session-helpers.js";
import { tenantClient } from "../vault/vault-helpers.js";
import { checkPageTokens, type ListUnderTest } from "../wire/page-tokens.js";
import { firstOf, serves } from "./auth-helpers.js";

const sessionNotFound = { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" } as const;
const sandboxNotFound = { code: "NOT_FOUND", reason: "SANDBOX_NOT_FOUND" } as const;

/** Every call of a session, by an intruder; each must fail exactly as for a missing session. */
function sessionCalls(client: RpcClient, sessionId: string, withLeases: boolean, withWake: boolean): [string, () => Promise<unknown>][] {
  const calls: [string, () => Promise<unknown>][] = [
    ["GetSession", () => client.unary(S.getSession, { sessionId })],
    ["GetEvents", () => client.unary(S.getEvents, { sessionId })],
    ["EmitEvent", () => client.unary(S.emitEvent, { sessionId, event: userText("intruder") })],
    ["EmitEvents", () => client.unary(S.emitEvents, { sessionId, events: [userText("intruder")] })],
    ["WatchEvents", () => firstOf(client, S.watchEvents, { sessionId })],
    ["DeleteSession", () => client.unary(S.deleteSession, { sessionId })],
  ];
  if (withLeases) {
    calls.push(
      ["AcquireLease", () => client.unary(S.acquireLease, { sessionId, holder: "intruder", ttl: { seconds: 30n } })],
      ["RenewLease", () => client.unary(S.renewLease, { sessionId, epoch: 1n, ttl: { seconds: 30n } })],
      ["ReleaseLease", () => client.unary(S.releaseLease, { sessionId, epoch: 1n })],
    );
  }
  if (withWake) calls.push(["Wake", () => client.unary(H.wake, { sessionId })]);
  return calls;
}

/** SEC-10: every tenant alone. */
export const tenantCases: ConformanceCase[] = [
  {
    id: "auth/SEC-10/other-tenant-session-not-found",
    requirement: "SEC-10",
    level: "MUST",
    feature: "auth.tokens",
    title: "another tenant's session is SESSION_NOT_FOUND for every call (read, append, watch, lease, wake, delete) exactly as a missing one, is not listed, and stays unchanged; its id and idempotency keys are free in the other tenant",
    async run(ctx) {
      const owner = await tenantClient(ctx);
      const intruder = await tenantClient(ctx);
      const sessionId = ctx.uniqueId("conf");
      const label = { "conf.run": ctx.uniqueId("t").toLowerCase() };
      await owner.client.unary(S.createSession, { sessionId, labels: label, agent: { model: TEST_MODEL } });
      const first = (await owner.client.unary(S.emitEvent, { sessionId, event: userText("owner's"), idempotencyKey: "k1" })).event!;
      for (const id of [sessionId, ctx.uniqueId("missing")]) {
        const what = id === sessionId ? "another tenant's session" : "a missing session";
        for (const [name, call] of sessionCalls(intruder.client, id, serves(ctx, "session.leases"), serves(ctx, "harness.core"))) await expectFailure(call(), sessionNotFound, `${name} of ${what}`);
      }
      const listed = await intruder.client.unary(S.listSessions, { pageSize: 1000, labels: label });
      check(!listed.sessions.some((s) => s.sessionId === sessionId), "ListSessions of another tenant lists the session");
      const kept = (await owner.client.unary(S.getSession, { sessionId })).session;
      checkEqual(kept?.headSeq, first.seq, "the owner's session after the other tenant's calls (head_seq)");
      checkEqual(kept?.tenant, owner.tenant, "Session.tenant");
      if (serves(ctx, "session.leases")) check(!kept?.lease || kept.lease.holder !== "intruder", "the other tenant's AcquireLease took the owner's lease");
      // The same id in the intruder's tenant is a session of its own, and so is the same key.
      const twin = (await intruder.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } })).session;
      checkEqual(twin?.tenant, intruder.tenant, "Session.tenant of a session created with an id another tenant holds");
      await expectFailure(owner.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } }), { code: "ALREADY_EXISTS", reason: "SESSION_EXISTS" }, "CreateSession with an id taken within the tenant");
      const theirs = await intruder.client.unary(S.emitEvent, { sessionId, event: userText("intruder's"), idempotencyKey: "k1" });
      check(!theirs.duplicate, "the same idempotency key in another tenant's session of the same id was replayed");
      const ownerLog = await owner.client.unary(S.getEvents, { sessionId });
      checkEqual(ownerLog.events.length, 1, "events in the owner's session after the other tenant used its id and key");
      const again = await owner.client.unary(S.emitEvent, { sessionId, event: userText("owner's"), idempotencyKey: "k1" });
      check(again.duplicate && again.event?.seq === first.seq, "the owner's key must still replay its own event");
    },
  },
  {
    id: "auth/SEC-10/other-tenant-sandbox-not-found",
    requirement: "SEC-10",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 60_000,
    title: "another tenant's sandbox is SANDBOX_NOT_FOUND for get, execute and renew, is not listed, and DestroySandbox of it succeeds and changes nothing",
    async run(ctx) {
      if (!serves(ctx, "sandbox.core")) {
        ctx.note("the target serves no sandboxes (sandbox.core): nothing to check");
        return;
      }
      const owner = await tenantClient(ctx);
      const intruder = await tenantClient(ctx);
      const sandboxId = (await owner.client.unary(X.provision, { labels: { "conf.case": "1" } }, { timeoutMs: ctx.scaled(60_000) })).sandbox!.sandboxId;
      try {
        // A missing sandbox: the owner's id with its last character changed, so that it keeps the id's form.
        for (const id of [sandboxId, sandboxId.slice(0, -1) + (sandboxId.endsWith("0") ? "1" : "0")]) {
          const what = id === sandboxId ? "another tenant's sandbox" : "a missing sandbox";
          await expectFailure(intruder.client.unary(X.getSandbox, { sandboxId: id }), sandboxNotFound, `GetSandbox of ${what}`);
          await expectFailure(intruder.client.unary(X.execute, { sandboxId: id, name: "bash", input: { command: "echo intruder" } }), sandboxNotFound, `Execute in ${what}`);
          await expectFailure(intruder.client.unary(X.renewSandbox, { sandboxId: id }), sandboxNotFound, `RenewSandbox of ${what}`);
        }
        const listed = await intruder.client.unary(X.listSandboxes, { pageSize: 1000 });
        check(!listed.sandboxes.some((s) => s.sandboxId === sandboxId), "ListSandboxes of another tenant lists the sandbox");
        await intruder.client.unary(X.destroySandbox, { sandboxId });
        const kept = (await owner.client.unary(X.getSandbox, { sandboxId })).sandbox;
        checkEqual(kept?.tenant, owner.tenant, "Sandbox.tenant");
        const ran = await owner.client.unary(X.execute, { sandboxId, name: "bash", input: { command: "echo still-here" } }, { timeoutMs: ctx.scaled(30_000) });
        check(!ran.isError, "the owner's sandbox must still run tools after another tenant's DestroySandbox");
      } finally {
        await owner.client.unary(X.destroySandbox, { sandboxId }).catch(() => undefined);
      }
    },
  },
  {
    id: "auth/SEC-10/page-tokens-bound-to-tenant",
    requirement: "SEC-10",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 30_000,
    title: "ListSessions lists the caller's tenant alone, and a page token one tenant was given is INVALID_PAGE_TOKEN for another with the same filters (besides forged and altered ones)",
    async run(ctx) {
      const mine = await tenantClient(ctx);
      const theirs = await tenantClient(ctx);
      const label = { "conf.run": ctx.uniqueId("t").toLowerCase() };
      const ids = [ctx.uniqueId("conf"), ctx.uniqueId("conf"), ctx.uniqueId("conf")].sort();
      for (const sessionId of ids) await mine.client.unary(S.createSession, { sessionId, labels: label, agent: { model: TEST_MODEL } });
      const theirOwn = ctx.uniqueId("conf");
      await theirs.client.unary(S.createSession, { sessionId: theirOwn, labels: label, agent: { model: TEST_MODEL } });
      const sessions: ListUnderTest = {
        name: "ListSessions",
        async page(pageSize, pageToken, filters = "own") {
          const res = await (filters === "own" ? mine : theirs).client.unary(S.listSessions, { pageSize, pageToken, labels: label });
          return { ids: res.sessions.map((s) => s.sessionId), nextPageToken: res.nextPageToken };
        },
      };
      const all = await mine.client.unary(S.listSessions, { pageSize: 1000, labels: label });
      check(!all.sessions.some((s) => s.sessionId === theirOwn), "ListSessions lists another tenant's session");
      await checkPageTokens(sessions, ids, undefined);
    },
  },
];
