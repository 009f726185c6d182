import { randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { startMcpServer, type McpTestServer } from "@oma/conformance/fixtures";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mcpProxyPath } from "../mcp/mcp-paths.js";
import { natsUnavailable, TEST_VAULT_KEY } from "../testing/nats-cluster.js";
import { removeDataDir } from "../testing/remove-data-dir.js";
import { rpcRejection } from "../testing/rpc-rejection.js";
import { tempDir } from "../testing/temp-dir.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the vault tests of two servers on one JetStream cluster: ${unavailable}`);

// Two real servers on the run's shared 3-node cluster: the vault is the cluster's bucket, so a
// credential created through A is what B's proxies send, and a change through A is what B's
// next request uses. The route is the MCP proxy (SEC-14) against a real MCP server that
// demands a bearer: the session is created through B and its tool calls go through B.
describe.skipIf(unavailable !== undefined)("SEC-11 the vault of two OMA servers on one JetStream cluster", () => {
  let a: TestApp;
  let b: TestApp;
  let mcp: McpTestServer;
  let onA: OmaClient;
  let onB: OmaClient;
  let token = "";
  beforeAll(async () => {
    const store = inject("natsUrl");
    mcp = await startMcpServer();
    [a, b] = await Promise.all([startTestApp({ store, allowLoopbackUpstreams: true }), startTestApp({ store, allowLoopbackUpstreams: true })]);
    const tenant = `v-${randomUUID().slice(0, 8)}`;
    token = (await createOmaClient({ baseUrl: a.url, token: a.adminToken }).tokens.createToken({ tenant, role: TokenRole.CLIENT })).bearerToken;
    onA = createOmaClient({ baseUrl: a.url, token });
    onB = createOmaClient({ baseUrl: b.url, token });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await mcp?.close();
  });

  const bearer = (secret: string) => ({ case: "bearer" as const, value: { urlPrefix: new URL("/", mcp.url).href, token: secret } });
  const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("");
  async function connectThroughB(sessionId: string): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(mcpProxyPath(sessionId, "tools"), b.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: "test", version: "1" });
    await client.connect(transport);
    return client;
  }

  it("a credential created through A is used by a session run through B; A's update is B's next request, A's delete fails B's next one", async () => {
    const credentialId = `mcp-${randomUUID().slice(0, 8)}`;
    await onA.vault.createCredential({ credential: { credentialId, kind: bearer(mcp.token) } });
    expect((await onB.vault.getCredential({ credentialId })).credential?.credentialId).toBe(credentialId);
    expect((await rpcRejection(onB.vault.createCredential({ credential: { credentialId, kind: bearer("x") } }))).reason).toBe("CREDENTIAL_EXISTS");
    // B checks the credential at CreateSession and its proxy reveals it for every call.
    const { session } = await onB.sessions.createSession({ agent: { model: "m", mcpServers: [{ name: "tools", url: mcp.url, credentialId }] } });
    const client = await connectThroughB(session!.sessionId);
    const old = mcp.token;
    try {
      const sum = (await client.callTool({ name: "add", arguments: { a: 2, b: 3 } })) as CallToolResult;
      expect([text(sum), sum.isError ?? false]).toEqual(["5", false]);
      mcp.token = `rotated-${randomUUID()}`;
      await onA.vault.updateCredential({ credential: { credentialId, kind: bearer(mcp.token) } });
      const rotated = (await client.callTool({ name: "add", arguments: { a: 1, b: 1 } })) as CallToolResult;
      expect([text(rotated), rotated.isError ?? false]).toEqual(["2", false]);
      await onA.vault.deleteCredential({ credentialId });
      const gone = (await client.callTool({ name: "add", arguments: { a: 1, b: 1 } })) as CallToolResult;
      expect(gone.isError).toBe(true);
      expect(text(gone)).toContain("not in the vault");
      expect((await rpcRejection(onB.vault.getCredential({ credentialId }))).reason).toBe("CREDENTIAL_NOT_FOUND");
    } finally {
      mcp.token = old;
      await client.close();
    }
  });

  it("a server started with another OMA_VAULT_KEY on the same store refuses to start, and says why", async () => {
    const other = TEST_VAULT_KEY.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    const dir = await tempDir("oma-vault-key-");
    try {
      await expect(startTestApp({ store: inject("natsUrl"), vaultKey: other, dataDir: dir.path })).rejects.toThrow(/every server on one store must be started with the same OMA_VAULT_KEY/);
    } finally {
      await removeDataDir(dir.path);
    }
    // The store still opens with the right key.
    expect((await onB.vault.listCredentials({})).credentials).toEqual([]);
  });
});
