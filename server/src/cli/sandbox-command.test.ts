import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// `oma sandbox provision | exec | destroy` over the public API of a real server on port 0.
const run = promisify(execFile);
const mainJs = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "cli", "main.js");
const oma = (args: string[]) =>
  run(process.execPath, [mainJs, ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
  );

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

describe("oma sandbox", () => {
  it("provisions, streams a command's output with its exit code, destroys, then reports SANDBOX_NOT_FOUND", async () => {
    const provisioned = await oma(["sandbox", "provision", "--server", app.url, "--data-dir", app.dataDir]);
    expect(provisioned.code).toBe(0);
    const id = provisioned.stdout.trim();
    expect(id).toMatch(/^sbx_[0-9a-f]{32}$/);
    const exec = await oma(["sandbox", "exec", id, "--server", app.url, "--data-dir", app.dataDir, "--", "echo out; echo err >&2; exit 5"]);
    expect([exec.code, exec.stdout, exec.stderr]).toEqual([5, "out\n", "err\n"]);
    expect((await oma(["sandbox", "destroy", id, "--server", app.url, "--data-dir", app.dataDir])).code).toBe(0);
    const gone = await oma(["sandbox", "exec", id, "--server", app.url, "--data-dir", app.dataDir, "--", "true"]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain("SANDBOX_NOT_FOUND");
  });
});
