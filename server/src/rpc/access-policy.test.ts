import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import { Health } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import { createClient } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { hasAccessRule } from "./access-policy.js";

// SEC-4 at the edge of the real server: every RPC family with every role, over gRPC and
// Connect. "Allowed" means the call got past authentication and the access policy (it
// may still fail on its own terms, e.g. NOT_FOUND); "denied" is PERMISSION_DENIED.
let app: TestApp;
const tokens: Record<"client" | "worker" | "admin", string> = { client: "", worker: "", admin: "" };
let sessionId = "";

beforeAll(async () => {
  app = await startTestApp();
  const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  const mint = async (tenant: string, role: TokenRole) => (await admin.tokens.createToken({ tenant, role })).bearerToken;
  tokens.client = await mint("default", TokenRole.CLIENT);
  tokens.worker = await mint("*", TokenRole.WORKER);
  tokens.admin = await mint("ops", TokenRole.ADMIN);
  sessionId = `acl-${randomUUID()}`;
  await admin.sessions.createSession({ sessionId, agent: { model: "m" } });
});
afterAll(async () => app?.stop());

type Rule = "any" | "client" | "worker" | "admin";
/** One call per RPC family and the rule that governs it. */
const calls: { name: string; rule: Rule; call(oma: OmaClient): Promise<unknown> }[] = [
  { name: "ServerInfo.GetServerInfo", rule: "any", call: (o) => o.serverInfo.getServerInfo({}) },
  { name: "Sandbox.ListTools", rule: "any", call: (o) => o.sandboxes.listTools({}) },
  { name: "Session.CreateSession", rule: "client", call: (o) => o.sessions.createSession({ agent: { model: "m" } }) },
  { name: "Session.ListSessions", rule: "client", call: (o) => o.sessions.listSessions({ pageSize: 1 }) },
  { name: "Session.GetSession", rule: "client", call: (o) => o.sessions.getSession({ sessionId }) },
  { name: "Session.EmitEvent", rule: "client", call: (o) => o.sessions.emitEvent({ sessionId, event: { payload: { case: "custom", value: { type: "acl" } } } }) },
  { name: "Session.GetEvents", rule: "client", call: (o) => o.sessions.getEvents({ sessionId }) },
  { name: "Session.WatchEvents", rule: "client", call: (o) => first(o.sessions.watchEvents({ sessionId })) },
  { name: "Session.RenewLease", rule: "client", call: (o) => o.sessions.renewLease({ sessionId, epoch: 99n }) },
  { name: "Session.DeleteSession", rule: "client", call: (o) => o.sessions.deleteSession({ sessionId: `acl-missing-${randomUUID()}` }) },
  { name: "Harness.Wake", rule: "client", call: (o) => o.harness.wake({ sessionId: `acl-missing-${randomUUID()}` }) },
  { name: "Harness.ListHarnesses", rule: "client", call: (o) => o.harness.listHarnesses({}) },
  { name: "Sandbox.ListSandboxes", rule: "client", call: (o) => o.sandboxes.listSandboxes({}) },
  { name: "Sandbox.GetSandbox", rule: "client", call: (o) => o.sandboxes.getSandbox({ sandboxId: `sbx_${"0".repeat(32)}` }) },
  { name: "Sandbox.Execute", rule: "client", call: (o) => o.sandboxes.execute({ sandboxId: `sbx_${"0".repeat(32)}`, name: "bash", input: { command: "true" } }) },
  { name: "Sandbox.ExecuteStream", rule: "client", call: (o) => first(o.sandboxes.executeStream({ sandboxId: `sbx_${"0".repeat(32)}`, name: "bash", input: { command: "true" } })) },
  { name: "Harness.ConnectWorker", rule: "worker", call: (o) => first(o.harness.connectWorker({ workerId: `acl-${randomUUID()}` })) },
  { name: "Token.ListTokens", rule: "admin", call: (o) => o.tokens.listTokens({}) },
  { name: "Vault.ListCredentials", rule: "client", call: (o) => o.vault.listCredentials({}) },
  { name: "Vault.GetCredential", rule: "client", call: (o) => o.vault.getCredential({ credentialId: "acl-missing" }) },
  { name: "Token.RevokeToken", rule: "admin", call: (o) => o.tokens.revokeToken({ tokenId: "tok_0000000000000000" }) },
];

/** The first message of a stream, then the stream is closed. */
async function first(stream: AsyncIterable<unknown>): Promise<unknown> {
  for await (const m of stream) return m;
  return undefined;
}

const allowed: Record<"client" | "worker" | "admin", readonly Rule[]> = {
  client: ["any", "client"],
  worker: ["any", "worker"],
  admin: ["any", "client", "worker", "admin"],
};

describe("SEC-4: who may call what", () => {
  it("every served method has an access rule of its own", () => {
    for (const service of [SessionService, HarnessService, SandboxService, ServerInfoService, TokenService, VaultService]) {
      for (const method of service.methods) expect(hasAccessRule(method), `${service.typeName}/${method.name}`).toBe(true);
    }
  });

  for (const protocol of ["grpc", "connect"] as const) {
    for (const role of ["client", "worker", "admin"] as const) {
      it(`${role} token over ${protocol}: allowed where its role may, PERMISSION_DENIED elsewhere`, async () => {
        const oma = createOmaClient({ baseUrl: app.url, token: tokens[role], protocol });
        const outcome: Record<string, string> = {};
        const expected: Record<string, string> = {};
        for (const c of calls) {
          const info = omaErrorInfo(await c.call(oma).then(() => undefined, (e: unknown) => e));
          outcome[c.name] = info?.reason === "PERMISSION_DENIED" || info?.reason === "UNAUTHENTICATED" ? info.reason : "allowed";
          expected[c.name] = allowed[role].includes(c.rule) ? "allowed" : "PERMISSION_DENIED";
        }
        expect(outcome).toEqual(expected);
      });
    }
  }

  it("a missing, malformed, unknown or revoked token is UNAUTHENTICATED with its cause, over gRPC and Connect", async () => {
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const revoked = await admin.tokens.createToken({ tenant: "default", role: TokenRole.CLIENT });
    // Used over both protocols first: the server knows it by sight before the revocation.
    for (const protocol of ["grpc", "connect"] as const) await createOmaClient({ baseUrl: app.url, protocol, token: revoked.bearerToken }).sessions.getSession({ sessionId });
    await admin.tokens.revokeToken({ tokenId: revoked.token!.tokenId });
    const cases: [string | undefined, string][] = [
      [undefined, "missing"],
      ["not-an-oma-token", "malformed"],
      [`oma_tok_0123456789abcdef.${"A".repeat(43)}`, "unknown"],
      [`${tokens.client.slice(0, -4)}AAAA`, "unknown"],
      [revoked.bearerToken, "revoked"],
    ];
    for (const protocol of ["grpc", "connect"] as const) {
      for (const [token, cause] of cases) {
        const oma = createOmaClient({ baseUrl: app.url, protocol, ...(token ? { token } : {}) });
        const info = omaErrorInfo(await oma.sessions.getSession({ sessionId }).catch((e: unknown) => e));
        expect({ code: info?.code, reason: info?.reason, cause: info?.metadata["cause"] }, `${protocol} ${cause}`).toEqual({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED", cause });
      }
    }
  });

  it("health and reflection answer without a token", async () => {
    const health = createClient(Health, app.transport(undefined));
    expect((await health.check({ service: "" })).status).toBe(1);
  });

  it("only an admin may act in another tenant (oma-tenant); the admin then sees that tenant alone", async () => {
    const asOther = createOmaClient({ baseUrl: app.url, token: tokens.client, tenant: "other" });
    expect(omaErrorInfo(await asOther.sessions.listSessions({}).catch((e: unknown) => e))?.reason).toBe("PERMISSION_DENIED");
    const sameTenant = createOmaClient({ baseUrl: app.url, token: tokens.client, tenant: "default" });
    await sameTenant.sessions.getSession({ sessionId });
    const admin = createOmaClient({ baseUrl: app.url, token: tokens.admin, tenant: "default" });
    await admin.sessions.getSession({ sessionId });
    const badHeader = createOmaClient({ baseUrl: app.url, token: tokens.admin, tenant: "../x" });
    const info = omaErrorInfo(await badHeader.sessions.getSession({ sessionId }).catch((e: unknown) => e));
    expect([info?.reason, info?.field]).toEqual(["INVALID_FIELD", "oma-tenant"]);
  });
});
