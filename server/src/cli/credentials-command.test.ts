import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH } from "../testing/server-process.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

/** Runs `oma` with `stdin` piped in; never throws. */
const oma = (args: string[], stdin = "") =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [CLI_PATH, ...args], { timeout: 15_000, env: { ...process.env, OMA_TOKEN: "" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });

if (!existsSync(CLI_PATH)) console.warn(`!!! SKIPPED the credentials CLI tests because ${CLI_PATH} is missing: run tsc -b first`);

describe.skipIf(!existsSync(CLI_PATH))("oma credentials (SEC-11)", () => {
  let app: TestApp;
  let at: string[];
  beforeAll(async () => {
    app = await startTestApp();
    at = ["--server", app.url, "--data-dir", app.dataDir];
  });
  afterAll(async () => app?.stop());

  it("create reads the secret from stdin; list, update and delete never print it", async () => {
    const secret = `ghp_${randomBytes(16).toString("hex")}`;
    const created = await oma(["credentials", "create", "--id", "gh", "--git-host", "git.example", "--username", "bot", "--display-name", "ci", ...at], `${secret}\n`);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^gh {2}git bot@git\.example {2}\S+ {2}ci$/m);
    const rotated = await oma(["credentials", "update", "gh", "--bearer-url-prefix", "https://mcp.example/", ...at], "new-secret");
    expect(rotated.code, rotated.stderr).toBe(0);
    const listed = await oma(["credentials", "list", ...at]);
    expect(listed.stdout).toMatch(/^gh {2}bearer https:\/\/mcp\.example\/ /m);
    for (const out of [created, rotated, listed]) expect(out.stdout + out.stderr).not.toMatch(new RegExp(`${secret}|new-secret`));
    expect((await oma(["credentials", "delete", "gh", ...at])).code).toBe(0);
    const again = await oma(["credentials", "delete", "gh", ...at]);
    expect([again.code, again.stderr.includes("CREDENTIAL_NOT_FOUND")]).toEqual([1, true]);
  });

  it("needs exactly one kind, and an empty secret is INVALID_FIELD naming the token", async () => {
    expect((await oma(["credentials", "create", ...at], "x")).stderr).toContain("exactly one of --git-host or --bearer-url-prefix");
    const empty = await oma(["credentials", "create", "--git-host", "git.example", ...at], "");
    expect([empty.code, empty.stderr.includes("credential.git_token.token")]).toEqual([1, true]);
  });
});
