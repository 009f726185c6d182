import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { GIT_HTTP_BACKEND, startGitServer } from "@oma/conformance/fixtures";
import { NetworkMode } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// SEC-15: NETWORK_MODE_ALLOW_LIST on docker and bubblewrap. The sandbox has no network of
// its own; the gateway admits plain HTTP and CONNECT to the listed hosts alone, and every
// refusal is counted. The hosts are HTTP servers on 127.0.0.2 (this machine's loopback,
// which a sandbox's own 127.0.0.1 never is), so the server runs with loopback upstreams allowed.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("the egress allow-list tests", backends);

let app: TestApp;
let oma: OmaClient;
const servers: http.Server[] = [];
let allowedPort = 0;
let otherPort = 0;

async function serve(body: string): Promise<number> {
  const server = http.createServer((req, res) => res.end(`${body} ${req.method} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.2", () => resolve()));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  allowedPort = await serve("allowed");
  otherPort = await serve("other");
  app = await startTestApp({ allowLoopbackUpstreams: true });
  oma = createOmaClient({ baseUrl: app.url, token: app.adminToken });
});
afterAll(async () => {
  await app?.stop();
  for (const s of servers) s.close();
});

const py = (sandboxId: string, code: string) => oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: `python3 - <<'EOF'\n${code}\nEOF`, timeout: 30_000 } });

/** A CONNECT through the gateway, then a plain HTTP request through the tunnel; prints the status line(s). */
const connectThrough = (target: string) => `
import socket
s = socket.create_connection(("127.0.0.1", 3128), 5)
s.sendall(b"CONNECT ${target} HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n")
head = s.recv(4096).decode()
print("CONNECT", head.split("\\r\\n")[0])
if " 200 " in head:
    s.sendall(b"GET /tunnel HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print("TUNNEL", data.decode().split("\\r\\n\\r\\n", 1)[1])
`;

const urlopen = (url: string) => `
import urllib.request, urllib.error
try:
    print("HTTP", urllib.request.urlopen("${url}", timeout=10).read().decode())
except urllib.error.HTTPError as e:
    print("HTTP", e.code, e.read().decode().strip())
except Exception as e:
    print("HTTP failed", type(e).__name__)
`;

describe.each(backends)("SEC-15 egress by allow-list on $name", (backend) => {
  it.skipIf(!backend.available)("listed hosts answer through the gateway (HTTP_PROXY and CONNECT); others are refused and counted; the sandbox itself has no network", { timeout: 90_000 }, async () => {
    const { sandbox } = await oma.sandboxes.provision({ resources: { backend: backend.name, network: { mode: NetworkMode.ALLOW_LIST, allow: [`127.0.0.2:${allowedPort}`, "169.254.169.254"] } } });
    const sandboxId = sandbox!.sandboxId;
    try {
      expect(sandbox?.resources?.network?.allow).toEqual([`127.0.0.2:${allowedPort}`, "169.254.169.254"]);
      const before = (reason: string) => app.gatewayDenials().get(reason) ?? 0;
      const notAllowed = before("not_allowed");
      const refusedAddress = before("refused_address");
      expect((await py(sandboxId, urlopen(`http://127.0.0.2:${allowedPort}/plain`))).output.trim()).toBe("HTTP allowed GET /plain");
      expect((await py(sandboxId, connectThrough(`127.0.0.2:${allowedPort}`))).output).toContain("TUNNEL allowed GET /tunnel");
      // Not on the list: another port of the same host, another host; both through the proxy.
      expect((await py(sandboxId, urlopen(`http://127.0.0.2:${otherPort}/`))).output).toContain("HTTP 403");
      expect((await py(sandboxId, connectThrough(`127.0.0.2:${otherPort}`))).output).toContain("CONNECT HTTP/1.1 403");
      expect((await py(sandboxId, connectThrough("example.com:443"))).output).toContain("CONNECT HTTP/1.1 403");
      expect(app.gatewayDenials().get("not_allowed")).toBe(notAllowed + 3);
      // Listed, but a link-local address (cloud metadata lives there): refused all the same.
      expect((await py(sandboxId, connectThrough("169.254.169.254:80"))).output).toContain("CONNECT HTTP/1.1 403");
      expect(app.gatewayDenials().get("refused_address")).toBe(refusedAddress + 1);
      // Around the proxy there is nothing: no interface but loopback.
      const direct = await py(sandboxId, `
import socket
for host, port in (("127.0.0.2", ${allowedPort}), ("1.1.1.1", 443)):
    try:
        socket.create_connection((host, port), 3)
        print("REACHED", host)
    except OSError as e:
        print("no way", host)
`);
      expect(direct.output).not.toContain("REACHED");
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId });
    }
  });
});

describe("SEC-15 without an allow-list", () => {
  const fast = backends.find((b) => b.available);
  it.skipIf(!fast || !existsSync(GIT_HTTP_BACKEND))("a sandbox with repositories has a gateway but no proxy: CONNECT is refused and counted; a plain sandbox has no gateway at all", { timeout: 60_000 }, async () => {
    const git = await startGitServer();
    await git.createRepo("r", 1);
    await oma.vault.createCredential({ credential: { credentialId: "egress-git", kind: { case: "gitToken", value: { host: git.host, username: git.username, token: git.token } } } });
    const { sandbox } = await oma.sandboxes.provision({ resources: { backend: fast!.name, repositories: [{ url: git.repoUrl("r"), credentialId: "egress-git" }] } });
    const sandboxId = sandbox!.sandboxId;
    try {
      const noNetwork = app.gatewayDenials().get("no_network") ?? 0;
      const envs = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: "echo proxy=$HTTPS_PROXY" } });
      expect(envs.output.trim()).toBe("proxy=");
      expect((await py(sandboxId, connectThrough(`127.0.0.2:${allowedPort}`))).output).toContain("CONNECT HTTP/1.1 403");
      expect((await py(sandboxId, urlopen(`http://127.0.0.2:${allowedPort}/`).replace("urllib.request.urlopen(", "urllib.request.build_opener(urllib.request.ProxyHandler({'http': 'http://127.0.0.1:3128'})).open("))).output).toContain("HTTP 403");
      expect(app.gatewayDenials().get("no_network")).toBe(noNetwork + 2);
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId });
      await git.close();
    }
    const plain = (await oma.sandboxes.provision({ resources: { backend: fast!.name } })).sandbox!.sandboxId;
    try {
      const none = await oma.sandboxes.execute({ sandboxId: plain, name: "bash", input: { command: "echo proxy=$HTTPS_PROXY; ls /run/oma 2>&1; (exec 3<>/dev/tcp/127.0.0.1/3128) 2>&1 || echo no-gateway" } });
      expect(none.output).toContain("proxy=\n");
      expect(none.output).toContain("no-gateway");
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId: plain });
    }
  });
});
