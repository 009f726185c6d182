import { randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { startMcpServer, type McpTestServer } from "@oma/conformance/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcRejection } from "../testing/rpc-rejection.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { mcpProxyPath } from "./mcp-paths.js";

// SEC-14: the MCP proxy, a standard MCP endpoint per session and server, against a real MCP
// server (the SDK's) that demands a bearer. Callers here are SDK clients with a client token
// of the tenant; the brain's side (session tokens, the scripted model) is brain-mcp.test.ts.
let app: TestApp;
let mcp: McpTestServer;
let oma: OmaClient;
let token = "";

beforeAll(async () => {
  mcp = await startMcpServer();
  app = await startTestApp({ allowLoopbackUpstreams: true });
  const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  token = (await admin.tokens.createToken({ tenant: "mcp-a", role: TokenRole.CLIENT })).bearerToken;
  oma = createOmaClient({ baseUrl: app.url, token });
});
afterAll(async () => {
  await app?.stop();
  await mcp?.close();
});

async function sessionWith(credentialId: string, url = mcp.url): Promise<string> {
  const sessionId = `mcp-${randomUUID()}`;
  await oma.sessions.createSession({ sessionId, agent: { model: "m", mcpServers: [{ name: "tools", url, credentialId }] } });
  return sessionId;
}
async function credential(secret = mcp.token, urlPrefix = new URL("/", mcp.url).href): Promise<string> {
  const credentialId = `mcp-${randomUUID().slice(0, 8)}`;
  await oma.vault.createCredential({ credential: { credentialId, kind: { case: "bearer", value: { urlPrefix, token: secret } } } });
  return credentialId;
}
async function connect(sessionId: string, bearer = token, server = "tools"): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(mcpProxyPath(sessionId, server), app.url), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } });
  const client = new Client({ name: "test", version: "1" });
  await client.connect(transport);
  return client;
}
const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("");

describe("SEC-14 the MCP proxy", () => {
  it("lists and calls the real server's tools with the vault's bearer; a failing tool is isError; the secret never comes back", async () => {
    const sessionId = await sessionWith(await credential());
    const client = await connect(sessionId);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["echo", "add", "fail"]);
      const echoed = (await client.callTool({ name: "echo", arguments: { text: "hello" } })) as CallToolResult;
      expect([text(echoed), echoed.isError ?? false]).toEqual(["hello", false]);
      const failed = (await client.callTool({ name: "fail", arguments: {} })) as CallToolResult;
      expect(failed.isError).toBe(true);
      // Whatever the upstream answers, the secret is not in what the proxy returns.
      const leaked = (await client.callTool({ name: "echo", arguments: { text: `token=${mcp.token}` } })) as CallToolResult;
      expect(text(leaked)).toBe("token=[credential]");
    } finally {
      await client.close();
    }
  });

  it("rotation applies to the next call without a new session; a deleted credential makes calls error results", async () => {
    const credentialId = await credential();
    const client = await connect(await sessionWith(credentialId));
    const old = mcp.token;
    try {
      mcp.token = `rotated-${randomUUID()}`;
      expect(((await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })) as CallToolResult).isError).toBe(true);
      await oma.vault.updateCredential({ credential: { credentialId, kind: { case: "bearer", value: { urlPrefix: new URL("/", mcp.url).href, token: mcp.token } } } });
      const sum = (await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })) as CallToolResult;
      expect([text(sum), sum.isError ?? false]).toEqual(["3", false]);
      await oma.vault.deleteCredential({ credentialId });
      const gone = (await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })) as CallToolResult;
      expect(gone.isError).toBe(true);
      expect(text(gone)).toContain("not in the vault");
    } finally {
      mcp.token = old;
      await client.close();
    }
  });

  it("a server that is down is a tool error, not a failed call", async () => {
    const down = await startMcpServer();
    const url = down.url;
    const credentialId = await credential(down.token, new URL("/", url).href);
    const client = await connect(await sessionWith(credentialId, url));
    try {
      await down.close();
      const res = (await client.callTool({ name: "echo", arguments: { text: "x" } })) as CallToolResult;
      expect(res.isError).toBe(true);
      expect(text(res)).toContain("could not run echo");
    } finally {
      await client.close();
    }
  });

  it("CreateSession: another tenant's credential is CREDENTIAL_NOT_FOUND, one whose prefix does not cover the URL INVALID_FIELD", async () => {
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const other = createOmaClient({ baseUrl: app.url, token: (await admin.tokens.createToken({ tenant: "mcp-b", role: TokenRole.CLIENT })).bearerToken });
    const theirs = `theirs-${randomUUID().slice(0, 8)}`;
    await other.vault.createCredential({ credential: { credentialId: theirs, kind: { case: "bearer", value: { urlPrefix: new URL("/", mcp.url).href, token: mcp.token } } } });
    const notFound = await rpcRejection(oma.sessions.createSession({ agent: { model: "m", mcpServers: [{ name: "tools", url: mcp.url, credentialId: theirs }] } }));
    expect([notFound.reason, notFound.field]).toEqual(["CREDENTIAL_NOT_FOUND", "agent.mcp_servers[0].credential_id"]);
    const elsewhere = await credential(mcp.token, "https://mcp.example.org/");
    const mismatch = await rpcRejection(oma.sessions.createSession({ agent: { model: "m", mcpServers: [{ name: "tools", url: mcp.url, credentialId: elsewhere }] } }));
    expect([mismatch.reason, mismatch.field]).toEqual(["INVALID_FIELD", "agent.mcp_servers[0].credential_id"]);
    const badUrl = await rpcRejection(oma.sessions.createSession({ agent: { model: "m", mcpServers: [{ name: "tools", url: "https://u:p@mcp.example.org/" }] } }));
    expect([badUrl.reason, badUrl.field]).toEqual(["INVALID_FIELD", "agent.mcp_servers[0].url"]);
  });

  it("only the session's own callers get in: no token 401, another tenant 404 like a missing session, an unknown server 400", async () => {
    const sessionId = await sessionWith(await credential());
    await expect(connect(sessionId, "")).rejects.toMatchObject({ code: 401 });
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const outsider = (await admin.tokens.createToken({ tenant: "mcp-c", role: TokenRole.CLIENT })).bearerToken;
    await expect(connect(sessionId, outsider)).rejects.toMatchObject({ code: 404 });
    await expect(connect(sessionId, token, "nope")).rejects.toMatchObject({ code: 400 });
    const workerToken = (await admin.tokens.createToken({ tenant: "mcp-a", role: TokenRole.WORKER })).bearerToken;
    await expect(connect(sessionId, workerToken)).rejects.toMatchObject({ code: 403 });
    expect(mcp.calls.length).toBeGreaterThan(0);
  });
});
