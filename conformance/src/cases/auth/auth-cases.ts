import { toBinary } from "@bufbuild/protobuf";
import { Health, HealthCheckResponse_ServingStatus } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { TokenRole, TokenSchema } from "@oma/client/gen/oma/v1/token_pb.js";
import { ListTokensResponseSchema, RevokeTokenResponseSchema } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import type { CallOptions, RpcClient } from "../../client/rpc-client.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { userText } from "../events.js";
import { H } from "../harness/harness-helpers.js";
import { X } from "../sandbox/sandbox-helpers.js";
import { S, TEST_MODEL } from "../session/session-helpers.js";
import { filesContaining, tenantClient } from "../vault/vault-helpers.js";
import { expectDenied, expectUnauthenticated, firstOf, serves, T } from "./auth-helpers.js";

type Probe = readonly [string, (client: RpcClient, options?: CallOptions) => Promise<unknown>];

/**
 * One call of every method family of every service the target serves, each aimed at
 * `sessionId` of the case's tenant or creating something named `tag`, so that a caller who
 * must be refused would leave a trace if it were not.
 */
function probes(ctx: CaseContext, sessionId: string, tag: string): Probe[] {
  const out: Probe[] = [
    ["GetServerInfo", (c, o) => c.unary(ServerInfoService.method.getServerInfo, {}, o)],
    ["CreateSession", (c, o) => c.unary(S.createSession, { sessionId: tag, agent: { model: TEST_MODEL } }, o)],
    ["GetSession", (c, o) => c.unary(S.getSession, { sessionId }, o)],
    ["ListSessions", (c, o) => c.unary(S.listSessions, {}, o)],
    ["EmitEvent", (c, o) => c.unary(S.emitEvent, { sessionId, event: userText(tag) }, o)],
    ["GetEvents", (c, o) => c.unary(S.getEvents, { sessionId }, o)],
    ["WatchEvents", (c, o) => firstOf(c, S.watchEvents, { sessionId }, o)],
    ["DeleteSession", (c, o) => c.unary(S.deleteSession, { sessionId }, o)],
    ["CreateToken", (c, o) => c.unary(T.createToken, { tenant: "conformance", role: TokenRole.ADMIN, description: tag }, o)],
    ["ListTokens", (c, o) => c.unary(T.listTokens, {}, o)],
  ];
  if (serves(ctx, "session.leases")) out.push(["AcquireLease", (c, o) => c.unary(S.acquireLease, { sessionId, holder: tag, ttl: { seconds: 30n } }, o)]);
  if (serves(ctx, "sandbox.core")) {
    out.push(["ListTools", (c, o) => c.unary(X.listTools, {}, o)], ["Provision", (c, o) => c.unary(X.provision, { sessionId, labels: { "conf.tag": tag } }, o)], ["ListSandboxes", (c, o) => c.unary(X.listSandboxes, {}, o)]);
  }
  if (serves(ctx, "harness.core")) {
    out.push(["Wake", (c, o) => c.unary(H.wake, { sessionId }, o)], ["ListHarnesses", (c, o) => c.unary(H.listHarnesses, {}, o)], ["ConnectWorker", (c, o) => firstOf(c, H.connectWorker, { workerId: tag, capacity: 1 }, o)]);
  }
  if (serves(ctx, "vault.credentials")) {
    out.push(["ListCredentials", (c, o) => c.unary(VaultService.method.listCredentials, {}, o)], ["CreateCredential", (c, o) => c.unary(VaultService.method.createCredential, { credential: { credentialId: tag, kind: { case: "bearer", value: { urlPrefix: "https://conformance.example/", token: tag } } } }, o)]);
  }
  return out;
}

/** Checks that none of the probes left a trace in the tenant of `owner` (or created an admin token). */
async function nothingDone(ctx: CaseContext, owner: RpcClient, sessionId: string, headSeq: bigint, tag: string, who: string): Promise<void> {
  await expectFailure(owner.unary(S.getSession, { sessionId: tag }), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, `${who}: CreateSession must create nothing`);
  const session = (await owner.unary(S.getSession, { sessionId })).session;
  checkEqual(session?.headSeq, headSeq, `${who}: the session's head after EmitEvent and DeleteSession were refused`);
  const tokens = (await ctx.rpc.unary(T.listTokens, { tenant: "conformance", pageSize: 1000 })).tokens;
  check(!tokens.some((t) => t.description === tag), `${who}: CreateToken must create nothing`);
  if (serves(ctx, "sandbox.core")) {
    const sandboxes = (await owner.unary(X.listSandboxes, { sessionId, pageSize: 1000 })).sandboxes;
    check(sandboxes.length === 0, `${who}: Provision must provision nothing`);
  }
}

/** SEC-4, SEC-5, SEC-6, SEC-9: who may call, and as whom. */
export const authCases: ConformanceCase[] = [
  {
    id: "auth/SEC-4/every-call-needs-a-valid-token",
    requirement: "SEC-4",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 30_000,
    title: "a call of every service without a bearer token, with a malformed one, one the server never issued (made up, or a genuine one altered) or a revoked one is UNAUTHENTICATED with metadata cause and does nothing; grpc.health.v1 answers without a token",
    async run(ctx) {
      const owner = await tenantClient(ctx);
      const revoked = await tenantClient(ctx, TokenRole.CLIENT, owner.tenant);
      const sessionId = ctx.uniqueId("conf");
      await owner.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
      const headSeq = (await owner.client.unary(S.emitEvent, { sessionId, event: userText("before") })).event!.seq;
      // Used before it is revoked, so a server that remembers tokens it has checked must forget it.
      await revoked.client.unary(S.getSession, { sessionId });
      await ctx.rpc.unary(T.revokeToken, { tokenId: revoked.tokenId });
      const last = owner.token.at(-1) === "A" ? "B" : "A";
      const callers: [string, RpcClient, CallOptions, readonly string[]][] = [
        ["no token", ctx.newClient(undefined, ""), {}, ["missing"]],
        ["an authorization header that is not Bearer", ctx.newClient(undefined, ""), { headers: { authorization: `Basic ${Buffer.from("oma:oma").toString("base64")}` } }, ["malformed", "missing"]],
        ["a bearer token of no known form", ctx.newClient(undefined, "%not-a-token%"), {}, ["malformed", "unknown"]],
        ["a valid token with its last character changed", ctx.newClient(undefined, owner.token.slice(0, -1) + last), {}, ["unknown", "malformed"]],
        ["a revoked token", revoked.client, {}, ["revoked"]],
      ];
      for (const [who, client, options, causes] of callers) {
        const tag = ctx.uniqueId("conf-unauth");
        for (const [name, call] of probes(ctx, sessionId, tag)) await expectUnauthenticated(call(client, options) as Promise<unknown>, causes, `${name} with ${who}`);
        await nothingDone(ctx, owner.client, sessionId, headSeq, tag, who);
      }
      try {
        const health = await ctx.newClient(undefined, "").unary(Health.method.check, { service: "" });
        checkEqual(health.status, HealthCheckResponse_ServingStatus.SERVING, "grpc.health.v1 Check without a token");
      } catch (err) {
        if (!(err instanceof RpcFailure)) throw err;
        check(err.codeName !== "UNAUTHENTICATED", "grpc.health.v1 must answer without a bearer token");
        ctx.note(`grpc.health.v1 Check: ${err.describe()}`);
      }
    },
  },
  {
    id: "auth/SEC-5/role-rights",
    requirement: "SEC-5",
    level: "MUST",
    feature: "auth.tokens",
    timeoutMs: 30_000,
    title: "a client token may not call TokenService or ConnectWorker, a worker token no session, sandbox, Wake, vault or token call (PERMISSION_DENIED naming role and procedure, nothing done); GetServerInfo and ListTools are open to both",
    async run(ctx) {
      const client = await tenantClient(ctx);
      const worker = await tenantClient(ctx, TokenRole.WORKER, client.tenant);
      const sessionId = ctx.uniqueId("conf");
      await client.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } });
      const headSeq = (await client.client.unary(S.emitEvent, { sessionId, event: userText("before") })).event!.seq;
      const tag = ctx.uniqueId("conf-denied");
      const all = probes(ctx, sessionId, tag);
      const open = ["GetServerInfo", "ListTools"];
      const clientMay = (name: string) => !["CreateToken", "ListTokens", "ConnectWorker"].includes(name);
      for (const [name, call] of all) {
        if (open.includes(name)) {
          await call(client.client);
          await call(worker.client);
          continue;
        }
        if (!clientMay(name)) await expectDenied(call(client.client) as Promise<unknown>, "client", `${name} with a client token`);
        if (name !== "ConnectWorker") await expectDenied(call(worker.client) as Promise<unknown>, "worker", `${name} with a worker token`);
      }
      await expectDenied(client.client.unary(T.revokeToken, { tokenId: worker.tokenId }), "client", "RevokeToken with a client token");
      await nothingDone(ctx, client.client, sessionId, headSeq, tag, "refused calls");
      await worker.client.unary(ServerInfoService.method.getServerInfo, {});
      const kept = (await ctx.rpc.unary(T.listTokens, { tenant: client.tenant, pageSize: 1000 })).tokens.find((t) => t.tokenId === worker.tokenId);
      check(kept && !kept.revokeTime, "a RevokeToken refused to a client token must leave the token valid");
    },
  },
  {
    id: "auth/SEC-6/acting-in-a-tenant",
    requirement: "SEC-6",
    level: "MUST",
    feature: "auth.tokens",
    title: "a client or worker token naming another tenant in oma-tenant is PERMISSION_DENIED and does nothing; its own tenant is fine; an admin acts in the tenant it names; tenant names outside the grammar, and \"*\" for a client, are INVALID_FIELD tenant",
    async run(ctx) {
      const client = await tenantClient(ctx);
      const worker = await tenantClient(ctx, TokenRole.WORKER, client.tenant);
      const other = ctx.uniqueId("tenant");
      const there = { headers: { "oma-tenant": other } };
      const sessionId = ctx.uniqueId("conf");
      await expectFailure(client.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } }, there), { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" }, "CreateSession by a client token naming another tenant");
      await expectFailure(client.client.unary(S.listSessions, {}, there), { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" }, "ListSessions by a client token naming another tenant");
      await expectFailure(worker.client.unary(ServerInfoService.method.getServerInfo, {}, there), { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" }, "GetServerInfo by a worker token naming another tenant");
      await expectFailure(ctx.rpc.unary(S.getSession, { sessionId }, there), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, "the refused CreateSession must create nothing in the tenant it named");
      await expectFailure(client.client.unary(S.getSession, { sessionId }), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, "the refused CreateSession must create nothing in the caller's tenant");
      await client.client.unary(S.createSession, { sessionId, agent: { model: TEST_MODEL } }, { headers: { "oma-tenant": client.tenant } });
      const byAdmin = ctx.uniqueId("conf");
      const created = (await ctx.rpc.unary(S.createSession, { sessionId: byAdmin, agent: { model: TEST_MODEL } }, { headers: { "oma-tenant": client.tenant } })).session;
      checkEqual(created?.tenant, client.tenant, "Session.tenant of a session an admin created naming the tenant");
      checkEqual((await client.client.unary(S.getSession, { sessionId: byAdmin })).session?.sessionId, byAdmin, "the tenant's client reading the session an admin created in it");
      const own = ctx.uniqueId("conf");
      await ctx.rpc.unary(S.createSession, { sessionId: own, agent: { model: TEST_MODEL } });
      await expectFailure(client.client.unary(S.getSession, { sessionId: own }), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, "a session an admin created without oma-tenant, read by another tenant's client");
      for (const tenant of ["", ".dot", "-dash", "has space", "a/b", "x".repeat(65)]) {
        await expectFailure(ctx.rpc.unary(T.createToken, { tenant, role: TokenRole.CLIENT }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "tenant" }, `CreateToken for tenant ${JSON.stringify(tenant.slice(0, 20))}`);
      }
      await expectFailure(ctx.rpc.unary(T.createToken, { tenant: "*", role: TokenRole.CLIENT }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "tenant" }, 'CreateToken of a client token for tenant "*"');
      const longest = (await ctx.rpc.unary(T.createToken, { tenant: "y".repeat(64), role: TokenRole.CLIENT, description: "oma-conformance" })).token!;
      await ctx.rpc.unary(T.revokeToken, { tokenId: longest.tokenId });
    },
  },
  {
    id: "auth/SEC-9/bearer-shown-once",
    requirement: "SEC-9",
    level: "MUST",
    feature: "auth.tokens",
    title: "the bearer token is in CreateToken's answer alone: not in its Token, ListTokens or RevokeToken, nor in plain text in the data directory (with --target-data-dir)",
    async run(ctx) {
      const minted = await tenantClient(ctx);
      const tenant = minted.tenant;
      check(minted.token.length >= 32 && minted.created, "CreateToken must return the token and its bearer token");
      // The bearer's tail: a token id it may start with is public, the secret is not.
      const secretPart = minted.token.slice(-24);
      const carries = (bytes: Uint8Array, what: string) => check(!Buffer.from(bytes).includes(secretPart), `${what} carries the bearer token`);
      carries(toBinary(TokenSchema, minted.created), "CreateToken's Token");
      await ctx.newClient(undefined, minted.token).unary(S.listSessions, {});
      const listed = await ctx.rpc.unary(T.listTokens, { tenant, pageSize: 1000 });
      check(listed.tokens.some((t) => t.tokenId === minted.tokenId), "ListTokens of the tenant must list the new token");
      carries(toBinary(ListTokensResponseSchema, listed), "ListTokens");
      const listedAll = await ctx.rpc.unary(T.listTokens, { pageSize: 1000 });
      carries(toBinary(ListTokensResponseSchema, listedAll), "ListTokens of every tenant");
      if (ctx.dataDir) {
        const files = await filesContaining(ctx.dataDir, minted.token);
        check(files.length === 0, `the bearer token is in plain text in ${files.slice(0, 3).join(", ")}`);
      } else ctx.note("not checked on disk: the run was not given --target-data-dir");
      carries(toBinary(RevokeTokenResponseSchema, await ctx.rpc.unary(T.revokeToken, { tokenId: minted.tokenId })), "RevokeToken");
    },
  },
];
