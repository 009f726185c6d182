import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { NetworkMode } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { GIT_HTTP_BACKEND, startGitServer, type GitServer } from "@oma/conformance/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../testing/temp-dir.js";
import { announceSkips, backendsUnderTest, startServer } from "./sandbox-test-support.js";

// SEC-1 extended to credentials (SEC-3, SEC-12, SEC-15): a real `oma serve` holds a git token
// in its vault and lets its proxies reach loopback (so the suite's git server is reachable).
// From inside a sandbox wired to the repository and allow-listed to the server's own port,
// the token is nowhere to be found and the server's port stays out of reach, through the
// gateway as around it.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("the credential escape battery", backends);
const haveGit = existsSync(GIT_HTTP_BACKEND);
if (!haveGit) console.warn(`!!! SKIPPED the credential escape battery because ${GIT_HTTP_BACKEND} is missing`);

let dataDir: { path: string; remove(): Promise<void> };
let server: ChildProcess | undefined;
let git: GitServer;
let oma: OmaClient;
let port = 0;

beforeAll(async () => {
  if (!haveGit) return;
  git = await startGitServer();
  await git.createRepo("battery", 1);
  dataDir = await tempDir("oma-cred-escape-");
  const started = await startServer(dataDir.path, { OMA_ALLOW_LOOPBACK_UPSTREAMS: "1" });
  server = started.child;
  port = Number(new URL(started.url).port);
  oma = createOmaClient({ baseUrl: started.url, token: (await readFile(join(dataDir.path, "admin.token"), "utf8")).trim() });
  await oma.vault.createCredential({ credential: { credentialId: "battery", kind: { case: "gitToken", value: { host: git.host, username: git.username, token: git.token } } } });
});
afterAll(async () => {
  if (server) {
    server.kill("SIGTERM");
    await once(server, "exit");
  }
  await dataDir?.remove();
  await git?.close();
});

/**
 * Prints FOUND <where> for every place the token shows; the script holds only its two halves.
 * Its file search leaves out /proc, /sys, /dev and the installed system under /usr, as the
 * conformance suite's battery does (secret-battery.ts): a server writes nothing there.
 */
const search = (token: string) => {
  const half = Math.ceil(token.length / 2);
  return `t="$(printf %s '${token.slice(0, half)}')$(printf %s '${token.slice(half)}')"; f() { grep -qF -f <(printf '%s\\n' "$t") && echo "FOUND $1"; }
env | f env
for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | f $p/environ; tr '\\0' '\\n' < $p/cmdline 2>/dev/null | f $p/cmdline; done
cat repo/.git/config | f git-config
ls -la /run/oma 2>&1 | f run-oma
for d in /* /usr/local; do [ -L "$d" ] && continue; case "$d" in /proc|/sys|/dev|/usr) continue;; esac; grep -rIlF -f <(printf '%s\\n' "$t") "$d" 2>/dev/null; done | sed 's/^/FOUND file /'
true`;
};

/** Tries the server's own port through the gateway, both ways an HTTP client would. */
const throughGateway = (serverPort: number) => `python3 - <<'EOF'
import socket
for verb, line in (("CONNECT", b"CONNECT 127.0.0.1:${serverPort} HTTP/1.1\\r\\n\\r\\n"), ("GET", b"GET http://127.0.0.1:${serverPort}/ HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n")):
    s = socket.create_connection(("127.0.0.1", 3128), 5)
    s.sendall(line)
    print(verb, s.recv(200).split(b"\\r\\n")[0].decode())
    s.close()
EOF`;

describe.each(backends)("credential escape battery on $name", (backend) => {
  it.skipIf(!backend.available || !haveGit)("SEC-1/SEC-12 the vault's token is never seen; the server's port is out of reach even when allow-listed", { timeout: 120_000 }, async () => {
    const { sandbox } = await oma.sandboxes.provision({
      resources: { backend: backend.name, repositories: [{ url: git.repoUrl("battery"), credentialId: "battery", path: "repo" }], network: { mode: NetworkMode.ALLOW_LIST, allow: [`127.0.0.1:${port}`, "localhost"] } },
    });
    const sandboxId = sandbox!.sandboxId;
    try {
      const found = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: search(git.token), timeout: 90_000 } });
      expect(found.output.split("\n").filter((l) => l.startsWith("FOUND"))).toEqual([]);
      expect(found.timedOut, "the search was cut off at its timeout, so it proves nothing").toBe(false);
      const reached = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: throughGateway(port) } });
      expect(reached.output).toContain("CONNECT HTTP/1.1 403");
      expect(reached.output).toContain("GET HTTP/1.1 403");
      // The repository itself still works: the token is used, never shown.
      const fetched = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: "cd repo && git fetch -q origin 2>&1" } });
      expect(fetched.isError, fetched.output).toBe(false);
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId });
    }
  });
});
