import type { WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { CaseSkipped, check, checkEqual, expectFailure } from "../../runner/assertions.js";
import type { RpcClient } from "../../client/rpc-client.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { textOf, userText } from "../events.js";
import { H } from "../harness/harness-helpers.js";
import { SuiteWorker } from "../harness/worker-stream.js";
import { X } from "../sandbox/sandbox-helpers.js";
import { S, TEST_MODEL } from "../session/session-helpers.js";
import { tenantClient } from "../vault/vault-helpers.js";
import { expectUnauthenticated, expectWatchEndsAtRevocation, firstOf, serves, T, unknownTokenId } from "./auth-helpers.js";

const denied = { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" } as const;

/**
 * A worker of a fresh tenant, connected by the suite with that tenant's worker token, and
 * the first assignment it is handed for a session the tenant's client created and woke.
 * A pool worker (which serves every tenant) may take a session first; the case then tries
 * another, and is skipped, saying why, if the suite's worker is never handed one.
 */
async function assignment(ctx: CaseContext): Promise<{ client: RpcClient; workerTokenId: string; worker: SuiteWorker; a: WorkAssignment; sessions: string[]; done: () => Promise<void> }> {
  if (!serves(ctx, "harness.core")) throw new CaseSkipped("a session token comes with a WorkAssignment: the target does not declare harness.core");
  const client = await tenantClient(ctx);
  const workerToken = await tenantClient(ctx, TokenRole.WORKER, client.tenant);
  const worker = new SuiteWorker(ctx, ctx.uniqueId("auth-worker"), 1, workerToken.client);
  // Deleted when the case ends, so that no worker is handed them again after it.
  const sessions: string[] = [];
  const done = async () => {
    await worker.close();
    for (const sessionId of sessions) await client.client.unary(S.deleteSession, { sessionId }).catch(() => undefined);
  };
  for (let attempt = 0; attempt < 12; attempt++) {
    const sessionId = ctx.uniqueId("conf");
    sessions.push(sessionId);
    await client.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
    await client.client.unary(H.wake, { sessionId });
    const deadline = Date.now() + ctx.scaled(2000);
    while (Date.now() < deadline) {
      const a = await worker.next((x) => x.sessionId === sessionId, 200);
      if (a) return { client: client.client, workerTokenId: workerToken.tokenId, worker, a, sessions, done };
      // Handed to another worker: try another session rather than wait.
      const brains = (await client.client.unary(H.listHarnesses, { sessionId })).harnesses;
      if (brains.some((h) => h.workerId !== "" && h.workerId !== worker.workerId)) break;
    }
  }
  await done();
  throw new CaseSkipped("the suite's worker (a worker token of the case's tenant) was handed none of 12 sessions it woke: other workers of the target took them");
}

/** SEC-7, SEC-8: session tokens reach one session; revocation ends everything at once. */
export const sessionTokenCases: ConformanceCase[] = [
  {
    id: "auth/SEC-7/session-token-reaches-one-session",
    requirement: "SEC-7",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 60_000,
    title: "an assignment's session_token reads, appends and renews its session (RenewLease returns a fresh one); another session of the tenant, Provision for another or no session, a sandbox of another session and calls outside the session are refused",
    async run(ctx) {
      const { client, a, sessions, done } = await assignment(ctx);
      try {
        check(a.sessionToken !== "", "WorkAssignment.session_token must be set by a target that authenticates calls");
        const sessionId = a.sessionId;
        // A target's leases may last seconds: the case renews at once for 30 s, as a brain
        // does, and goes on with the fresh session token RenewLease returns.
        const held = await ctx.newClient(undefined, a.sessionToken).unary(S.renewLease, { sessionId, epoch: a.leaseEpoch, ttl: { seconds: 30n } });
        check(held.sessionToken !== "", "RenewLease made with a session token must return a fresh session_token");
        const brain = ctx.newClient(undefined, held.sessionToken);
        await brain.unary(S.getSession, { sessionId });
        await brain.unary(S.emitEvent, { sessionId, event: userText("by the brain"), leaseEpoch: a.leaseEpoch });
        const other = ctx.uniqueId("conf");
        sessions.push(other);
        await client.unary(S.createSession, { sessionId: other, agent: { model: TEST_MODEL } });
        const otherHead = (await client.unary(S.getSession, { sessionId: other })).session?.headSeq;
        const refused: [string, () => Promise<unknown>][] = [
          ["GetSession of another session", () => brain.unary(S.getSession, { sessionId: other })],
          ["GetEvents of another session", () => brain.unary(S.getEvents, { sessionId: other })],
          ["EmitEvent to another session", () => brain.unary(S.emitEvent, { sessionId: other, event: userText("stray brain") })],
          ["WatchEvents of another session", () => firstOf(brain, S.watchEvents, { sessionId: other })],
          ["CreateSession", () => brain.unary(S.createSession, { sessionId: ctx.uniqueId("conf"), agent: { model: TEST_MODEL } })],
          ["ListSessions", () => brain.unary(S.listSessions, {})],
          ["Wake", () => brain.unary(H.wake, { sessionId })],
          ["ConnectWorker", () => firstOf(brain, H.connectWorker, { workerId: ctx.uniqueId("w"), capacity: 1 })],
          ["ListTokens", () => brain.unary(T.listTokens, {})],
        ];
        if (serves(ctx, "session.leases")) refused.push(["AcquireLease of another session", () => brain.unary(S.acquireLease, { sessionId: other, holder: "stray", ttl: { seconds: 30n } })]);
        if (serves(ctx, "sandbox.core")) refused.push(["Provision for another session", () => brain.unary(X.provision, { sessionId: other })], ["Provision for no session", () => brain.unary(X.provision, {})]);
        for (const [what, call] of refused) await expectFailure(call(), denied, `${what} with a session token`);
        checkEqual((await client.unary(S.getSession, { sessionId: other })).session?.headSeq, otherHead, "the other session after the refused calls (head_seq)");
        const renewed = await brain.unary(S.renewLease, { sessionId, epoch: a.leaseEpoch, ttl: { seconds: 30n } });
        check(renewed.sessionToken !== "", "RenewLease made with a session token must return a fresh session_token");
        const read = (await ctx.newClient(undefined, renewed.sessionToken).unary(S.getEvents, { sessionId })).events;
        check(read.some((e) => textOf(e) === "by the brain"), "the renewed session token must read the session's log");
        if (serves(ctx, "sandbox.core")) {
          const theirs = (await client.unary(X.provision, { sessionId: other }, { timeoutMs: ctx.scaled(30_000) })).sandbox!.sandboxId;
          const mine = (await brain.unary(X.provision, { sessionId }, { timeoutMs: ctx.scaled(30_000) })).sandbox!.sandboxId;
          try {
            await expectFailure(brain.unary(X.getSandbox, { sandboxId: theirs }), { code: "NOT_FOUND", reason: "SANDBOX_NOT_FOUND" }, "GetSandbox of another session's sandbox with a session token");
            await expectFailure(brain.unary(X.execute, { sandboxId: theirs, name: "bash", input: { command: "true" } }), { code: "NOT_FOUND", reason: "SANDBOX_NOT_FOUND" }, "Execute in another session's sandbox with a session token");
            checkEqual((await brain.unary(X.getSandbox, { sandboxId: mine })).sandbox?.sandboxId, mine, "GetSandbox of the session's own sandbox with its session token");
          } finally {
            await client.unary(X.destroySandbox, { sandboxId: theirs }).catch(() => undefined);
            await client.unary(X.destroySandbox, { sandboxId: mine }).catch(() => undefined);
          }
        }
        await brain.unary(S.releaseLease, { sessionId, epoch: a.leaseEpoch });
      } finally {
        await done();
      }
    },
  },
  {
    id: "auth/SEC-8/revocation-ends-a-watch",
    requirement: "SEC-8",
    level: "MUST",
    feature: "auth.tokens",
    title: "revoking a client token ends its open WatchEvents at once with UNAUTHENTICATED (cause revoked), and refuses every later call with it; revoking it again succeeds; an unknown token id is TOKEN_NOT_FOUND",
    async run(ctx) {
      const client = await tenantClient(ctx);
      const sessionId = ctx.uniqueId("conf");
      await client.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
      await expectWatchEndsAtRevocation(ctx, sessionId, client.client, ctx.rpc, client.tokenId, "the watch");
      await expectUnauthenticated(client.client.unary(S.getSession, { sessionId }), ["revoked"], "GetSession with the revoked token");
      const again = await ctx.rpc.unary(T.revokeToken, { tokenId: client.tokenId });
      check(again.token?.revokeTime !== undefined, "RevokeToken of a revoked token must succeed and show its revoke_time");
      await expectFailure(ctx.rpc.unary(T.revokeToken, { tokenId: unknownTokenId() }), { code: "NOT_FOUND", reason: "TOKEN_NOT_FOUND" }, "RevokeToken of an unknown id");
    },
  },
  {
    id: "auth/SEC-8/revoked-worker-token",
    requirement: "SEC-8",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 40_000,
    title: "revoking a worker token ends its ConnectWorker stream at once with UNAUTHENTICATED (cause revoked), and the session token of its assignment is refused (cause revoked)",
    async run(ctx) {
      const { worker, a, workerTokenId, done } = await assignment(ctx);
      try {
        // Renewed at once for 30 s (the target's leases may last seconds), as a brain does.
        const held = await ctx.newClient(undefined, a.sessionToken).unary(S.renewLease, { sessionId: a.sessionId, epoch: a.leaseEpoch, ttl: { seconds: 30n } });
        const brain = ctx.newClient(undefined, held.sessionToken);
        await brain.unary(S.getSession, { sessionId: a.sessionId });
        await ctx.rpc.unary(T.revokeToken, { tokenId: workerTokenId });
        const ended = await worker.endWithin(ctx.scaled(5000));
        check(ended !== undefined, "the ConnectWorker stream of a revoked worker token stayed open");
        check(ended instanceof RpcFailure, `the ConnectWorker stream of a revoked worker token must end with an error: ${String(ended)}`);
        await expectUnauthenticated(Promise.reject(ended), ["revoked"], "the ConnectWorker stream's end after its token was revoked");
        await expectUnauthenticated(brain.unary(S.getSession, { sessionId: a.sessionId }), ["revoked"], "GetSession with a session token issued under a revoked worker token");
      } finally {
        await done();
      }
    },
  },
];
