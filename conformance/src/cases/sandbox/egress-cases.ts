import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { NetworkMode } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, expectFailure } from "../../runner/assertions.js";
import { bash, withSandbox, X } from "./sandbox-helpers.js";

/**
 * HTTP servers on 127.0.0.2 (this machine's loopback, never the sandbox's own) that answer
 * their name. None takes the target's port number: a target may refuse its own port on every
 * loopback address (SEC-1), which would make a listed host unreachable by chance.
 */
async function withHosts<T>(names: readonly string[], targetPort: number, body: (ports: number[]) => Promise<T>): Promise<T> {
  const servers = await Promise.all(
    names.map(async (name) => {
      const server = http.createServer((req, res) => res.end(`hello from ${name}`));
      const listenOnce = () => new Promise<number>((resolve) => server.listen(0, "127.0.0.2", () => resolve((server.address() as AddressInfo).port)));
      while ((await listenOnce()) === targetPort) await new Promise((resolve) => server.close(resolve));
      return server;
    }),
  );
  try {
    return await body(servers.map((s) => (s.address() as AddressInfo).port));
  } finally {
    for (const s of servers) s.close();
  }
}

/** Python inside the sandbox: a GET through the environment's proxy, and a direct connection. */
const fetchScript = (url: string, host: string, port: number) => `python3 - <<'EOF'
import socket, urllib.request
try:
    print("PROXIED", urllib.request.urlopen("${url}", timeout=10).read().decode())
except Exception as e:
    print("PROXIED-FAILED", type(e).__name__, getattr(e, "code", ""), e.read()[:300].decode(errors="replace") if hasattr(e, "read") else e)
try:
    socket.create_connection(("${host}", ${port}), 3)
    print("DIRECT-REACHED")
except OSError:
    print("DIRECT-FAILED")
EOF`;

/** SEC-15: NETWORK_MODE_ALLOW_LIST. */
export const egressCases: ConformanceCase[] = [
  {
    id: "sandbox/SEC-15/allow-list",
    requirement: "SEC-15",
    level: "MUST",
    feature: "sandbox.egress",
    timeoutMs: 120_000,
    title: "an allow-listed sandbox reaches a listed host through HTTP_PROXY, not an unlisted port or host, and nothing directly; on every isolated backend",
    async run(ctx) {
      await withHosts(["listed", "unlisted"], Number(new URL(ctx.targetUrl).port), async ([listed, unlisted]) => {
        for (const backend of ctx.info.sandboxBackends.filter((b) => b !== "process")) {
          await withSandbox(
            ctx,
            async (sandboxId) => {
              const ok = await bash(ctx, sandboxId, fetchScript(`http://127.0.0.2:${listed}/`, "127.0.0.2", listed!), { timeoutSeconds: 60 });
              check(ok.output.includes("PROXIED hello from listed"), `${backend}: the listed host must answer through the proxy (the suite's hosts are on this machine's loopback: the target's proxy must be allowed to reach it, e.g. --allow-loopback-upstreams): ${ok.output}`);
              check(ok.output.includes("DIRECT-FAILED"), `${backend}: a direct connection to the listed host must fail (no network of its own)`);
              const no = await bash(ctx, sandboxId, fetchScript(`http://127.0.0.2:${unlisted}/`, "127.0.0.2", unlisted!), { timeoutSeconds: 60 });
              check(!no.output.includes("hello from unlisted") && no.output.includes("DIRECT-FAILED"), `${backend}: an unlisted port was reached: ${no.output}`);
              const other = await bash(ctx, sandboxId, fetchScript("http://example.com/", "1.1.1.1", 80), { timeoutSeconds: 60 });
              check(other.output.includes("PROXIED-FAILED") && other.output.includes("DIRECT-FAILED"), `${backend}: an unlisted host was reached: ${other.output}`);
            },
            { backend, network: { mode: NetworkMode.ALLOW_LIST, allow: [`127.0.0.2:${listed}`] } },
          );
        }
      });
    },
  },
  {
    id: "sandbox/SEC-15/bad-allow-list",
    requirement: "SEC-15",
    level: "MUST",
    feature: "sandbox.egress",
    title: "an empty allow-list and a malformed entry are INVALID_FIELD naming the field",
    async run(ctx) {
      await expectFailure(ctx.rpc.unary(X.provision, { resources: { network: { mode: NetworkMode.ALLOW_LIST } } }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "resources.network.allow" }, "ALLOW_LIST without entries");
      await expectFailure(ctx.rpc.unary(X.provision, { resources: { network: { mode: NetworkMode.ALLOW_LIST, allow: ["example.org", "http://not a host/"] } } }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "resources.network.allow" }, "a malformed allow entry");
    },
  },
];
