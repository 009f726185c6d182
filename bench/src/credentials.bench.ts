/**
 * The price of keeping credentials out of sandboxes and brains, each figure beside the
 * same work done without the proxy, in the same run:
 *   git clone of a 1,000-commit repository through the gateway  vs  the same clone straight
 *     from the git server (token in the URL), both by `git` inside a bubblewrap sandbox
 *     (the direct one with the host's network), alternating, timed inside the sandbox
 *   an MCP tool call through the server's MCP proxy  vs  the same call straight to the MCP
 *     server with its bearer, both with the official SDK client, alternating
 * Goals: clone <= 1.2x direct; MCP call <= 1.5x direct or <= 2 ms more.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createOmaClient } from "@oma/client/node";
import { NetworkMode } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { GIT_HTTP_BACKEND, startGitServer, startMcpServer } from "@oma/conformance/fixtures";
import { startApp } from "@oma/server/dist/app.js";
import { createLogger } from "@oma/server/dist/logger.js";
import { mcpProxyPath } from "@oma/server/dist/mcp/mcp-paths.js";
import { alternate, percentile, printTable, type Row, timePair } from "./report.js";

const dataDir = await mkdtemp(join(tmpdir(), "oma-bench-credentials-"));
const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", logger: createLogger({ level: "warn" }), allowLoopbackUpstreams: true });
const token = (await readFile(app.adminTokenFile!, "utf8")).trim();
const oma = createOmaClient({ baseUrl: app.url, token });
const backends = (await oma.serverInfo.getServerInfo({})).sandboxBackends;

// --- git clone ------------------------------------------------------------------------
const cloneRows: Row[] = [];
if (!backends.includes("bubblewrap") || !existsSync(GIT_HTTP_BACKEND)) {
  console.log(`!!! SKIPPED the clone benchmark: it needs the bubblewrap backend (its FULL network reaches this machine's loopback) and ${GIT_HTTP_BACKEND}`);
} else {
  const git = await startGitServer();
  await git.createRepo("bench", 1000);
  await oma.vault.createCredential({ credential: { credentialId: "bench-git", kind: { case: "gitToken", value: { host: git.host, username: git.username, token: git.token } } } });
  const viaGateway = (await oma.sandboxes.provision({ resources: { backend: "bubblewrap", memoryBytes: 1024n * 1024n * 1024n, repositories: [{ url: git.repoUrl("bench"), credentialId: "bench-git", path: "wired" }] } })).sandbox!.sandboxId;
  const direct = (await oma.sandboxes.provision({ resources: { backend: "bubblewrap", memoryBytes: 1024n * 1024n * 1024n, network: { mode: NetworkMode.FULL } } })).sandbox!.sandboxId;
  const route = (await oma.sandboxes.execute({ sandboxId: viaGateway, name: "bash", input: { command: "git -C wired remote get-url origin" } })).output.trim();
  const directUrl = git.repoUrl("bench").replace("http://", `http://${git.username}:${git.token}@`);
  let n = 0;
  /** Clones into a fresh directory, timed inside the sandbox (ms), then removes it. */
  const clone = (sandboxId: string, url: string) => async () => {
    const dir = `c${++n}`;
    const res = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: `s=$(date +%s%N); GIT_TERMINAL_PROMPT=0 git clone -q '${url}' ${dir} || exit 1; e=$(date +%s%N); rm -rf ${dir}; echo $(( (e - s) / 1000 ))`, timeout: 120_000 } });
    if (res.isError) throw new Error(`clone failed: ${res.output}`);
    return Number(res.output.trim()) / 1000;
  };
  const commits = (await oma.sandboxes.execute({ sandboxId: viaGateway, name: "bash", input: { command: "git -C wired rev-list --count HEAD" } })).output.trim();
  console.log(`repository: ${commits} commits; gateway remote ${route}`);
  const [proxied, straight] = await alternate(15, clone(viaGateway, route), clone(direct, directUrl), 1);
  cloneRows.push(
    { what: "git clone through the gateway, p50", value: percentile(proxied, 50), unit: "ms", limit: { what: "direct clone p50", value: percentile(straight, 50) }, goal: { atMost: 1.2 } },
    { what: "git clone through the gateway, p95", value: percentile(proxied, 95), unit: "ms", limit: { what: "direct clone p95", value: percentile(straight, 95) } },
  );
  await oma.sandboxes.destroySandbox({ sandboxId: viaGateway });
  await oma.sandboxes.destroySandbox({ sandboxId: direct });
  await git.close();
}
printTable("git clone of a 1,000-commit repository (bubblewrap, timed inside the sandbox)", cloneRows);

// --- MCP tool call -----------------------------------------------------------------------
const mcp = await startMcpServer();
await oma.vault.createCredential({ credential: { credentialId: "bench-mcp", kind: { case: "bearer", value: { urlPrefix: new URL("/", mcp.url).href, token: mcp.token } } } });
const sessionId = "bench-mcp-session";
await oma.sessions.createSession({ sessionId, agent: { model: "bench", mcpServers: [{ name: "tools", url: mcp.url, credentialId: "bench-mcp" }] } });
const connect = async (url: URL, bearer: string) => {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
  return client;
};
const viaProxy = await connect(new URL(mcpProxyPath(sessionId, "tools"), app.url), token);
const straight = await connect(new URL(mcp.url), mcp.token);
const call = (client: Client) => () => client.callTool({ name: "echo", arguments: { text: "bench" } });
const [proxied, direct] = await timePair(500, call(viaProxy), call(straight), 50);
const p50 = percentile(proxied, 50);
const d50 = percentile(direct, 50);
printTable("MCP tool call (echo), official SDK client", [
  { what: "call through the MCP proxy, p50", value: p50, unit: "ms", limit: { what: "direct call p50", value: d50 }, goal: { atMost: 1.5 } },
  { what: "call through the MCP proxy, p95", value: percentile(proxied, 95), unit: "ms", limit: { what: "direct call p95", value: percentile(direct, 95) } },
  { what: "added by the proxy, p50", value: p50 - d50, unit: "ms", goal: { text: `<= 2 ms: ${p50 - d50 <= 2 ? "met" : "NOT met"}` } },
]);
await viaProxy.close();
await straight.close();
await mcp.close();
await app.close();
await rm(dataDir, { recursive: true, force: true });
