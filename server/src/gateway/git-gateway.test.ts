import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { startGitServer, GIT_HTTP_BACKEND, type GitServer } from "@oma/conformance/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { rpcRejection } from "../testing/rpc-rejection.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { tempDir } from "../testing/temp-dir.js";

// SEC-12/13: repositories wired into sandboxes through the gateway, against a real git
// smart-HTTP server (git http-backend behind a front that demands the token), on docker
// and bubblewrap: clone at provisioning, commit and push from inside a sandbox that has no
// network, the push upstream; the token nowhere a sandbox can look.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("the git gateway tests", backends);
const haveBackend = existsSync(GIT_HTTP_BACKEND);
if (!haveBackend) console.warn(`!!! SKIPPED the git gateway tests because ${GIT_HTTP_BACKEND} is missing (Debian's git)`);
const fast = backends.find((b) => b.name === "bubblewrap" && b.available) ?? backends.find((b) => b.available);

let git: GitServer;
let app: TestApp;
let oma: OmaClient;
let admin: OmaClient;
/** When the git server made its token (epoch seconds, a second early for mtime rounding). */
let tokenMadeAt = 0;

beforeAll(async () => {
  if (!haveBackend) return;
  tokenMadeAt = Math.floor(Date.now() / 1000) - 1;
  git = await startGitServer();
  app = await startTestApp({ allowLoopbackUpstreams: true });
  admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  oma = createOmaClient({ baseUrl: app.url, token: (await admin.tokens.createToken({ tenant: "git-a", role: TokenRole.CLIENT })).bearerToken });
});
afterAll(async () => {
  await app?.stop();
  await git?.close();
});

const sh = async (sandboxId: string, command: string) => {
  const r = await oma.sandboxes.execute({ sandboxId, name: "bash", input: { command, timeout: 60_000 } });
  return { ...r, text: r.output };
};
const gitToken = (token: string) => ({ case: "gitToken" as const, value: { host: git.host, username: git.username, token } });
const newRepo = async (commits = 2) => {
  const name = `repo-${randomBytes(4).toString("hex")}`;
  await git.createRepo(name, commits);
  return name;
};
const newCredential = async (token = git.token, client = oma) => {
  const credentialId = `git-${randomBytes(4).toString("hex")}`;
  await client.vault.createCredential({ credential: { credentialId, kind: gitToken(token) } });
  return credentialId;
};
/**
 * A shell prelude that defines `$t` as the token, assembled from two halves, and `hits`,
 * which counts lines of its input holding it: neither command's arguments carry the token
 * (grep reads it from a pipe), so the search cannot find itself in /proc.
 */
const findToken = (token: string) => {
  const half = Math.ceil(token.length / 2);
  return `t="$(printf %s '${token.slice(0, half)}')$(printf %s '${token.slice(half)}')"; hits() { grep -cF -f <(printf '%s\n' "$t"); }`;
};

describe.each(backends)("SEC-12 repositories through the gateway on $name", (backend) => {
  it.skipIf(!backend.available || !haveBackend)("clone at provisioning, commit and push with no network; the push lands upstream; the token is in no env, file, git config, argument or /proc entry", { timeout: 120_000 }, async () => {
    const name = await newRepo(3);
    const credentialId = await newCredential();
    const { sandbox } = await oma.sandboxes.provision({ resources: { backend: backend.name, repositories: [{ url: git.repoUrl(name), credentialId, path: "app" }] } });
    const sandboxId = sandbox!.sandboxId;
    try {
      expect(sandbox?.resources?.repositories.map((r) => [r.url, r.credentialId, r.path])).toEqual([[git.repoUrl(name), credentialId, "app"]]);
      expect((await sh(sandboxId, "git -C app log --format=%s -1")).text.trim()).toBe("commit 3");
      const push = await sh(sandboxId, "cd app && echo from-the-sandbox > sandbox.txt && git add sandbox.txt && git -c user.name=agent -c user.email=agent@example.org commit -qm 'pushed from a sandbox' && git push -q origin HEAD:main 2>&1");
      expect(push.isError, push.text).toBe(false);
      expect((await git.log(name))[0]).toBe("pushed from a sandbox");
      const pull = await sh(sandboxId, "cd app && git fetch -q origin && git status -sb | head -1");
      expect(pull.isError, pull.text).toBe(false);
      // The sandbox has no network of its own: the upstream itself is out of reach.
      const direct = await sh(sandboxId, `GIT_TERMINAL_PROMPT=0 git ls-remote ${git.repoUrl(name)} 2>&1`);
      expect(direct.isError).toBe(true);
      // Where a token could hide: the environment, every process's environ and arguments,
      // the repository's config, and every visible file written since the token was made
      // (a file can hold it only if written after; reading the unchanged system files too,
      // gigabytes of the host's /usr under bubblewrap, took over a minute on a busy host).
      // This grep has the token in its arguments: /proc, read before, is left out here.
      const leak = await sh(
        sandboxId,
        `${findToken(git.token)}; { env; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < "$f"; done; cat app/.git/config; ls -la /run/oma; } 2>/dev/null | hits; find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -newermt @${tokenMadeAt} -print0 2>/dev/null | xargs -0r grep -IlF -e "$t" 2>/dev/null | head -3; true`,
      );
      expect(leak.text.trim()).toBe("0");
      const config = await sh(sandboxId, "git -C app config --get remote.origin.url");
      expect(config.text.trim()).toMatch(/^http:\/\/127\.0\.0\.1:3128\/git\/127\.0\.0\.1:\d+\/repo-[0-9a-f]+\.git$/);
      expect(git.requests.filter((r) => r.path.startsWith(`/${name}.git`)).every((r) => r.authorized)).toBe(true);
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId });
    }
  });
});

describe("SEC-12/SEC-13 the gateway's rules", () => {
  it.skipIf(!fast || !haveBackend)("rotation applies to the next request without re-provisioning; a deleted credential fails the next one", { timeout: 60_000 }, async () => {
    const name = await newRepo(1);
    const credentialId = await newCredential();
    const { sandbox } = await oma.sandboxes.provision({ resources: { backend: fast!.name, repositories: [{ url: git.repoUrl(name), credentialId }] } });
    const sandboxId = sandbox!.sandboxId;
    const old = git.token;
    try {
      git.token = `rotated-${randomBytes(8).toString("hex")}`;
      const refused = await sh(sandboxId, `cd ${name} && git fetch origin 2>&1`);
      expect(refused.isError).toBe(true);
      expect(refused.text).toContain("403");
      await oma.vault.updateCredential({ credential: { credentialId, kind: gitToken(git.token) } });
      const fetched = await sh(sandboxId, `cd ${name} && git fetch origin 2>&1`);
      expect(fetched.isError, fetched.text).toBe(false);
      await oma.vault.deleteCredential({ credentialId });
      const gone = await sh(sandboxId, `cd ${name} && git fetch origin 2>&1`);
      expect(gone.isError).toBe(true);
      expect(gone.text).toContain("403");
      expect(app.gatewayDenials().get("credential_missing")).toBeGreaterThan(0);
    } finally {
      git.token = old;
      await oma.sandboxes.destroySandbox({ sandboxId });
    }
  });

  it.skipIf(!fast || !haveBackend)("a sandbox reaches only the repositories wired into it; requests other than git's smart HTTP do not pass", { timeout: 60_000 }, async () => {
    const mine = await newRepo(1);
    const theirs = await newRepo(1);
    const credentialId = await newCredential();
    const a = (await oma.sandboxes.provision({ resources: { backend: fast!.name, repositories: [{ url: git.repoUrl(mine), credentialId }] } })).sandbox!.sandboxId;
    const b = (await oma.sandboxes.provision({ resources: { backend: fast!.name, repositories: [{ url: git.repoUrl(theirs), credentialId }] } })).sandbox!.sandboxId;
    try {
      const before = app.gatewayDenials().get("not_wired") ?? 0;
      // Sandbox A asks its gateway for B's repository: not wired here.
      const other = await sh(a, `GIT_TERMINAL_PROMPT=0 git ls-remote http://127.0.0.1:3128/git/${git.host}/${theirs}.git 2>&1`);
      expect(other.isError).toBe(true);
      expect(other.text).toContain("no repository is wired into this sandbox");
      expect(app.gatewayDenials().get("not_wired")).toBe(before + 1);
      // A dumb-protocol path of its own repository, and a request with its own authorization header.
      const dumb = await sh(a, `python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:3128/git/${git.host}/${mine}.git/HEAD')" 2>&1`);
      expect(dumb.text).toContain("404");
      const forged = await sh(a, `python3 -c "
import urllib.request as u
r = u.Request('http://127.0.0.1:3128/git/${git.host}/${mine}.git/info/refs?service=git-upload-pack', headers={'Authorization': 'Basic Zm9yZ2Vk'})
print(u.urlopen(r).status)" 2>&1`);
      expect(forged.text.trim()).toBe("200");
      // The front saw only the gateway's credential, never the sandbox's forged header.
      expect(git.requests.filter((r) => r.path.startsWith(`/${mine}.git`)).every((r) => r.authorized)).toBe(true);
    } finally {
      await oma.sandboxes.destroySandbox({ sandboxId: a });
      await oma.sandboxes.destroySandbox({ sandboxId: b });
    }
  });

  it.skipIf(!fast || !haveBackend)("Provision: another tenant's credential is CREDENTIAL_NOT_FOUND, one for another host INVALID_FIELD, a refused clone CLONE_FAILED; none leaves a sandbox", { timeout: 60_000 }, async () => {
    const name = await newRepo(1);
    const other = createOmaClient({ baseUrl: app.url, token: (await admin.tokens.createToken({ tenant: "git-b", role: TokenRole.CLIENT })).bearerToken });
    const theirs = await newCredential(git.token, other);
    const sessionId = `git-errors-${randomBytes(4).toString("hex")}`;
    const provision = (credentialId: string) => oma.sandboxes.provision({ sessionId, resources: { backend: fast!.name, repositories: [{ url: git.repoUrl(name), credentialId }] } });
    const notFound = await rpcRejection(provision(theirs));
    expect([notFound.code, notFound.reason, notFound.field]).toEqual([Code.NotFound, "CREDENTIAL_NOT_FOUND", "resources.repositories[0].credential_id"]);
    const elsewhere = `else-${randomBytes(4).toString("hex")}`;
    await oma.vault.createCredential({ credential: { credentialId: elsewhere, kind: { case: "gitToken", value: { host: "git.example.org", token: git.token } } } });
    const mismatch = await rpcRejection(provision(elsewhere));
    expect([mismatch.code, mismatch.reason, mismatch.field]).toEqual([Code.InvalidArgument, "INVALID_FIELD", "resources.repositories[0].credential_id"]);
    const wrong = await newCredential("not-the-token");
    const refused = await rpcRejection(provision(wrong));
    expect([refused.code, refused.reason, refused.field]).toEqual([Code.FailedPrecondition, "CLONE_FAILED", "resources.repositories[0]"]);
    expect(refused.message).not.toContain("not-the-token");
    expect((await oma.sandboxes.listSandboxes({ sessionId })).sandboxes).toEqual([]);
  });
});

describe("SBX-15 with a gateway", () => {
  const docker = backends.find((b) => b.name === "docker");
  it.skipIf(!docker?.available || !haveBackend)("a docker sandbox re-attached after a server restart gets its gateway back: fetch and push work", { timeout: 90_000 }, async () => {
    const dir = await tempDir("oma-gateway-restart-");
    let first: TestApp | undefined = await startTestApp({ dataDir: dir.path, allowLoopbackUpstreams: true });
    let second: TestApp | undefined;
    try {
      let client = createOmaClient({ baseUrl: first.url, token: first.adminToken });
      const name = await newRepo(1);
      await client.vault.createCredential({ credential: { credentialId: "gh", kind: gitToken(git.token) } });
      const sandboxId = (await client.sandboxes.provision({ resources: { backend: "docker", repositories: [{ url: git.repoUrl(name), credentialId: "gh" }] } })).sandbox!.sandboxId;
      await first.close();
      first = undefined;
      second = await startTestApp({ dataDir: dir.path, allowLoopbackUpstreams: true });
      client = createOmaClient({ baseUrl: second.url, token: second.adminToken });
      const push = await client.sandboxes.execute({ sandboxId, name: "bash", input: { command: `cd ${name} && git fetch -q origin && git -c user.name=a -c user.email=a@example.org commit -q --allow-empty -m 'after restart' && git push -q origin HEAD:main 2>&1` } });
      expect(push.isError, push.output).toBe(false);
      expect((await git.log(name))[0]).toBe("after restart");
      await client.sandboxes.destroySandbox({ sandboxId });
    } finally {
      await first?.close();
      await second?.close();
      await dir.remove();
    }
  });
});

describe("the outbound policy", () => {
  it.skipIf(!fast || !haveBackend)("without --allow-loopback-upstreams a repository on this machine's loopback is refused", { timeout: 60_000 }, async () => {
    const strict = await startTestApp();
    try {
      const client = createOmaClient({ baseUrl: strict.url, token: strict.adminToken });
      const name = await newRepo(1);
      await client.vault.createCredential({ credential: { credentialId: "gh", kind: gitToken(git.token) } });
      const refused = await rpcRejection(client.sandboxes.provision({ resources: { backend: fast!.name, repositories: [{ url: git.repoUrl(name), credentialId: "gh" }] } }));
      expect(refused.reason).toBe("CLONE_FAILED");
      expect(refused.metadata["detail"]).toContain("403");
      expect(strict.gatewayDenials().get("refused_address")).toBe(1);
    } finally {
      await strict.stop();
    }
  });
});
