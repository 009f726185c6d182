import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH } from "../testing/server-process.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { isLoopbackUrl, resolveToken } from "./connection.js";

const run = promisify(execFile);
const oma = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [CLI_PATH, ...args], { timeout: 15_000, env: { ...process.env, OMA_TOKEN: "", ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
  );

if (!existsSync(CLI_PATH)) console.warn(`!!! SKIPPED the token CLI tests because ${CLI_PATH} is missing: run tsc -b first`);

describe.skipIf(!existsSync(CLI_PATH))("oma tokens and the admin token of the data directory (SEC-4)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.stop());

  it("the server writes admin.token readable by its user alone; the CLI on this machine uses it by itself", async () => {
    expect((await stat(join(app.dataDir, "admin.token"))).mode & 0o777).toBe(0o600);
    const local = await oma(["sessions", "list", "--server", app.url, "--data-dir", app.dataDir]);
    expect(local.code, local.stderr).toBe(0);
    const none = await oma(["sessions", "list", "--server", app.url, "--data-dir", join(app.dataDir, "elsewhere")]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("UNAUTHENTICATED");
    expect(none.stderr).toContain("--token");
  });

  it("create prints the token alone on the last line; it works until it is revoked, then UNAUTHENTICATED", async () => {
    const created = await oma(["tokens", "create", "--tenant", "acme", "--role", "client", "--description", "cli test", "--server", app.url, "--data-dir", app.dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const lines = created.stdout.trim().split("\n");
    const token = lines.at(-1)!;
    expect(token).toMatch(/^oma_tok_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const tokenId = /^(tok_[0-9a-f]{16})/.exec(lines[0]!)![1]!;
    expect(token).toContain(tokenId);
    expect((await oma(["sessions", "list", "--server", app.url, "--token", token])).code).toBe(0);
    expect((await oma(["sessions", "list", "--server", app.url], { OMA_TOKEN: token })).code).toBe(0);
    const listed = await oma(["tokens", "list", "--tenant", "acme", "--server", app.url, "--data-dir", app.dataDir]);
    expect(listed.stdout).toMatch(new RegExp(`^${tokenId}\\s+client\\s+acme\\s.*valid\\s+cli test$`, "m"));
    expect(listed.stdout).not.toContain(token);
    expect((await oma(["tokens", "list", "--server", app.url, "--token", token])).stderr).toContain("PERMISSION_DENIED");
    expect((await oma(["tokens", "revoke", tokenId, "--server", app.url, "--data-dir", app.dataDir])).code).toBe(0);
    const after = await oma(["sessions", "list", "--server", app.url, "--token", token]);
    expect([after.code, after.stderr.includes("UNAUTHENTICATED")]).toEqual([1, true]);
    expect((await oma(["tokens", "list", "--tenant", "acme", "--server", app.url, "--data-dir", app.dataDir])).stdout).toMatch(new RegExp(`^${tokenId}\\s.*revoked`, "m"));
  });

  it("bad token fields are INVALID_FIELD naming the field; a client token of tenant * is refused", async () => {
    const bad = await oma(["tokens", "create", "--tenant", "*", "--role", "client", "--server", app.url, "--data-dir", app.dataDir]);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining("INVALID_FIELD (tenant)")]);
    const badTenant = await oma(["tokens", "create", "--tenant", "../x", "--role", "worker", "--server", app.url, "--data-dir", app.dataDir]);
    expect(badTenant.stderr).toContain("INVALID_FIELD (tenant)");
  });
});

describe("where the CLI finds its token", () => {
  it("a loopback URL is this machine; anything else is not", () => {
    expect(["http://127.0.0.1:7070", "http://127.1.2.3", "http://localhost:1", "http://[::1]:7070"].map(isLoopbackUrl)).toEqual([true, true, true, true]);
    expect(["http://10.0.0.1:7070", "http://example.com", "https://oma.internal:443", "not a url"].map(isLoopbackUrl)).toEqual([false, false, false, false]);
  });

  it("--token, then OMA_TOKEN, then the local admin token, which is never sent to another machine", async () => {
    const dir = await mkdtemp(join(tmpdir(), "oma-token-lookup-"));
    try {
      await writeFile(join(dir, "admin.token"), "oma_tok_local\n");
      const env = { OMA_DATA_DIR: dir };
      expect(resolveToken({ token: "flag" }, "http://127.0.0.1:7070", { ...env, OMA_TOKEN: "env" })).toBe("flag");
      expect(resolveToken({}, "http://127.0.0.1:7070", { ...env, OMA_TOKEN: "env" })).toBe("env");
      expect(resolveToken({}, "http://127.0.0.1:7070", env)).toBe("oma_tok_local");
      expect(resolveToken({}, "http://oma.example.com:7070", env)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync(CLI_PATH))("oma serve --auth none", () => {
  it("is refused with a host that is not loopback", async () => {
    const res = await oma(["serve", "--auth", "none", "--host", "0.0.0.0", "--port", "0", "--workers", "0"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--auth none is refused");
  });

  it("on loopback it warns loudly, writes no admin token, and answers calls without one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "oma-auth-none-"));
    const child = spawn(process.execPath, [CLI_PATH, "serve", "--auth", "none", "--port", "0", "--workers", "0", "--data-dir", dir], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OMA_LOG_LEVEL: "warn" } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on("line", (l) => l.startsWith("OMA_LISTENING ") && resolve(l.slice(14)));
        child.once("exit", () => reject(new Error(`server exited: ${stderr}`)));
      });
      expect(stderr).toContain("authentication is OFF");
      expect(existsSync(join(dir, "admin.token"))).toBe(false);
      const res = await oma(["sessions", "list", "--server", url, "--data-dir", dir]);
      expect(res.code, res.stderr).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
