import { existsSync } from "node:fs";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import type { ConformanceCase, CaseContext } from "../../runner/case.js";
import { CaseFailure, CaseSkipped, check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { GIT_HTTP_BACKEND, startGitServer, type GitServer } from "../../fixtures/git-server.js";
import { plantedSecret, tenantClient, V } from "../vault/vault-helpers.js";
import { runProbes, unfinished } from "../security/secret-battery.js";
import { bash, withSandbox, X, type Resources } from "./sandbox-helpers.js";

/** The backends a wired sandbox is tried on: every isolated one the target offers. */
const isolated = (ctx: CaseContext) => ctx.info.sandboxBackends.filter((b) => b !== "process");

/**
 * A git smart-HTTP server on this machine's loopback that demands a token, a repository on
 * it, and a credential for it in the run's tenant; everything is removed when `body` ends.
 * The target's proxy must be allowed to reach this machine's loopback (the reference:
 * --allow-loopback-upstreams).
 */
async function withRepository<T>(ctx: CaseContext, commits: number, body: (f: { git: GitServer; name: string; credentialId: string; repository: (extra?: object) => Resources }) => Promise<T>): Promise<T> {
  if (!existsSync(GIT_HTTP_BACKEND)) throw new CaseSkipped(`the runner needs ${GIT_HTTP_BACKEND} (Debian's git) to serve a repository`);
  const git = await startGitServer();
  const name = `conf-${ctx.uniqueId("repo").toLowerCase()}`;
  const credentialId = ctx.uniqueId("conf-git");
  try {
    await git.createRepo(name, commits);
    await ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: gitFor(git) } });
    return await body({ git, name, credentialId, repository: (extra = {}) => ({ repositories: [{ url: git.repoUrl(name), credentialId, path: "repo", ...extra }] }) });
  } finally {
    await ctx.rpc.unary(V.deleteCredential, { credentialId }).catch(() => undefined);
    await git.close();
  }
}

/** Provision with a hint when the failure is the proxy refusing this machine's loopback. */
async function provisionWired(ctx: CaseContext, resources: Resources, body: (sandboxId: string) => Promise<void>): Promise<void> {
  try {
    await withSandbox(ctx, body, resources);
  } catch (err) {
    if (err instanceof RpcFailure && err.reason === "CLONE_FAILED") {
      throw new CaseFailure(`Provision: ${err.describe()} (the suite's git server listens on this machine's loopback: start the target so that its proxy may reach it, e.g. --allow-loopback-upstreams)`);
    }
    throw err;
  }
}

/** A git_token credential for the fixture, with its user name and (unless given) its token. */
const gitFor = (git: GitServer, token = git.token) => ({ case: "gitToken" as const, value: { host: git.host, username: git.username, token } });

const push = (message: string) => `cd repo && git -c user.name=conformance -c user.email=conformance@example.org commit -q --allow-empty -m '${message}' && git push -q origin HEAD:main 2>&1`;

/** SEC-12 / SEC-13: repositories wired into sandboxes through the credential proxy. */
export const repositoryCases: ConformanceCase[] = [
  {
    id: "sandbox/SEC-12/push-lands-upstream",
    requirement: "SEC-12",
    level: "MUST",
    feature: "sandbox.repositories",
    timeoutMs: 120_000,
    title: "a repository wired at Provision is cloned into the workspace; a commit pushed from inside the sandbox (no network) arrives upstream, on every isolated backend",
    async run(ctx) {
      await withRepository(ctx, 2, async ({ git, name, repository }) => {
        for (const backend of isolated(ctx)) {
          await provisionWired(ctx, { backend, ...repository() }, async (sandboxId) => {
            const head = await bash(ctx, sandboxId, "git -C repo log --format=%s -1");
            checkEqual(head.output.trim(), (await git.log(name))[0], `${backend}: the newest commit of the clone`);
            const pushed = await bash(ctx, sandboxId, push(`pushed from ${backend}`));
            check(!pushed.isError, `${backend}: git push from inside the sandbox failed: ${pushed.output}`);
            checkEqual((await git.log(name))[0], `pushed from ${backend}`, `${backend}: the newest commit upstream`);
            const fetched = await bash(ctx, sandboxId, "cd repo && git pull -q origin main 2>&1");
            check(!fetched.isError, `${backend}: git pull failed: ${fetched.output}`);
          });
        }
        check(git.requests.length > 0 && git.requests.every((r) => r.authorized), "every request that reached the git server must carry the credential");
      });
    },
  },
  {
    id: "sandbox/SEC-12/token-unreachable",
    requirement: "SEC-12",
    level: "MUST",
    feature: "sandbox.repositories",
    timeoutMs: 180_000,
    title: "the git token of a wired repository appears nowhere a sandbox can look: environment, /proc, files, git config",
    async run(ctx) {
      await withRepository(ctx, 1, async ({ git, repository }) => {
        const token = git.token;
        for (const backend of isolated(ctx)) {
          await provisionWired(ctx, { backend, ...repository() }, async (sandboxId) => {
            const config = await bash(ctx, sandboxId, "cat repo/.git/config; git -C repo config --list");
            check(!config.output.includes(token), `${backend}: the token is in the repository's git config`);
            const runs = await runProbes(ctx, sandboxId, token);
            for (const r of runs) {
              check(!r.output.includes(token), `${backend}: ${r.probe.name}: the token appeared`);
              const found = r.output.split("\n").filter((l) => l.startsWith("REACHED-file"));
              check(found.length === 0, `${backend}: the token is in ${found.join(", ")}`);
            }
            const cut = unfinished(runs, backend);
            check(cut.length === 0, cut.join("; "));
          });
        }
      });
    },
  },
  {
    id: "sandbox/SEC-13/only-wired-repositories",
    requirement: "SEC-13",
    level: "MUST",
    feature: "sandbox.repositories",
    timeoutMs: 90_000,
    title: "a sandbox reaches only its own repositories: another sandbox's remote URL, and a forged authorization header, get nothing from upstream",
    async run(ctx) {
      await withRepository(ctx, 1, async ({ git, name, credentialId }) => {
        const other = `${name}-other`;
        await git.createRepo(other, 1);
        const backend = isolated(ctx)[0];
        if (!backend) throw new CaseSkipped("the target offers no isolated backend");
        const wiredTo = (repo: string): Resources => ({ backend, repositories: [{ url: git.repoUrl(repo), credentialId, path: "repo" }] });
        await provisionWired(ctx, wiredTo(other), async (b) => {
          const theirs = (await bash(ctx, b, "git -C repo remote get-url origin")).output.trim();
          check(theirs !== "", "the other sandbox's origin URL");
          await provisionWired(ctx, wiredTo(name), async (a) => {
            const seen = () => git.requests.filter((r) => r.path.startsWith(`/${other}.git`)).length;
            const before = seen();
            const res = await bash(ctx, a, `GIT_TERMINAL_PROMPT=0 git ls-remote '${theirs.replace(/'/g, "")}' 2>&1`);
            check(res.isError, `a sandbox read another sandbox's repository through its remote URL ${theirs}: ${res.output}`);
            checkEqual(seen(), before, "requests for the other sandbox's repository that reached upstream");
            const forged = await bash(ctx, a, "cd repo && GIT_TERMINAL_PROMPT=0 git -c http.extraHeader='Authorization: Basic Zm9yZ2VkOmZvcmdlZA==' fetch -q origin 2>&1; echo rc=$?");
            check(forged.output.includes("rc=0"), `a fetch with a header of the sandbox's own must still work with the proxy's credential: ${forged.output}`);
            check(git.requests.every((r) => r.authorized), "a request reached upstream without the proxy's credential (the sandbox's own header got through)");
          });
        });
      });
    },
  },
  {
    id: "sandbox/SEC-12/rotation-without-reprovisioning",
    requirement: "SEC-12",
    level: "MUST",
    feature: "sandbox.repositories",
    timeoutMs: 90_000,
    title: "after UpdateCredential the next fetch uses the new secret, after DeleteCredential it fails; the sandbox is never re-provisioned",
    async run(ctx) {
      await withRepository(ctx, 1, async ({ git, credentialId, repository }) => {
        const backend = isolated(ctx)[0];
        if (!backend) throw new CaseSkipped("the target offers no isolated backend");
        await provisionWired(ctx, { backend, ...repository() }, async (sandboxId) => {
          const fetch = () => bash(ctx, sandboxId, "cd repo && GIT_TERMINAL_PROMPT=0 git fetch -q origin 2>&1");
          git.token = plantedSecret("rotated");
          check((await fetch()).isError, "a fetch with the old secret after the upstream rotated its token must fail");
          await ctx.rpc.unary(V.updateCredential, { credential: { credentialId, kind: gitFor(git) } });
          const rotated = await fetch();
          check(!rotated.isError, `the fetch right after UpdateCredential must use the new secret: ${rotated.output}`);
          await ctx.rpc.unary(V.deleteCredential, { credentialId });
          check((await fetch()).isError, "a fetch after DeleteCredential must fail");
        });
      });
    },
  },
  {
    id: "sandbox/SEC-12/provision-checks",
    requirement: "SEC-12",
    level: "MUST",
    feature: "sandbox.repositories",
    timeoutMs: 90_000,
    title: "Provision: another tenant's credential is CREDENTIAL_NOT_FOUND, a URL with user info INVALID_FIELD, a refused clone CLONE_FAILED; each names the repository and leaves no sandbox",
    async run(ctx) {
      await withRepository(ctx, 1, async ({ git, name }) => {
        const sessionId = ctx.uniqueId("conf");
        const url = git.repoUrl(name);
        const attempt = (repositories: object[]) => ctx.rpc.unary(X.provision, { sessionId, resources: { repositories } as Resources }, { timeoutMs: ctx.scaled(60_000) });
        await expectFailure(attempt([{ url: url.replace("http://", "http://user:pw@") }]), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "resources.repositories[0].url" }, "a repository URL with user info");
        const wrong = ctx.uniqueId("conf-wrong");
        await ctx.rpc.unary(V.createCredential, { credential: { credentialId: wrong, kind: gitFor(git, plantedSecret("wrong")) } });
        try {
          await expectFailure(attempt([{ url, credentialId: wrong }]), { code: "FAILED_PRECONDITION", reason: "CLONE_FAILED", field: "resources.repositories[0]" }, "a clone the upstream refuses");
        } finally {
          await ctx.rpc.unary(V.deleteCredential, { credentialId: wrong }).catch(() => undefined);
        }
        const intruder = await tenantClient(ctx, TokenRole.CLIENT).catch((err: unknown) => {
          if (err instanceof CaseSkipped) return undefined;
          throw err;
        });
        if (intruder) {
          const theirs = ctx.uniqueId("conf-theirs");
          await intruder.client.unary(V.createCredential, { credential: { credentialId: theirs, kind: gitFor(git) } });
          await expectFailure(attempt([{ url, credentialId: theirs }]), { code: "NOT_FOUND", reason: "CREDENTIAL_NOT_FOUND", field: "resources.repositories[0].credential_id" }, "another tenant's credential");
        } else ctx.note("another tenant's credential not tried: the run's token may not mint tokens");
        const left = await ctx.rpc.unary(X.listSandboxes, { sessionId });
        checkEqual(left.sandboxes.length, 0, "sandboxes left by the refused Provisions");
      });
    },
  },
];
