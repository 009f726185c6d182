// The runner CLI as an implementer uses it: exit codes (0 passed, 1 a MUST failed,
// 2 the run broke), reports, expected failures, list and explain. Runs the compiled CLI.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../server/src/testing/temp-dir.js";
import { brokenVariants } from "./broken-variants.js";
import { startVariantServer, type VariantServer } from "./variant-server.js";

const cli = fileURLToPath(new URL("../dist/src/cli.js", import.meta.url));
const serverMain = fileURLToPath(new URL("../../server/dist/cli/main.js", import.meta.url));
const built = existsSync(cli);
if (!built) console.log("!!! SKIPPED the CLI tests because conformance/dist is not built (npx tsc -b)");

function run(args: string[], timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!built)("oma-conformance CLI", () => {
  let server: VariantServer;
  let dir: { path: string; remove(): Promise<void> };
  const ignoresHead = brokenVariants.find((v) => v.name === "ignores expected_head_seq")!;

  beforeAll(async () => {
    server = await startVariantServer(ignoresHead);
    dir = await tempDir("oma-conformance-cli-");
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it("exits 2 on bad flags and on an unreachable target, never reporting test failures", async () => {
    const bad = await run(["run", "--no-such-flag"]);
    expect(bad.code).toBe(2);
    const down = await run(["run", "--target", "http://127.0.0.1:1"]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain("could not happen");
    expect(down.stdout).not.toContain("FAIL");
    const three = await run(["run", "--target", server.url, "--target", server.url, "--target", server.url]);
    expect(three.code).toBe(2);
    expect(three.stderr).toContain("at most twice");
    const otherDown = await run(["run", "--target", server.url, "--token", server.adminToken, "--target", "http://127.0.0.1:1"]);
    expect(otherDown.code).toBe(2);
    expect(otherDown.stderr).toContain("the second target's");
  });

  it("takes a second target with --target A --target B for the cross-server cases, and skips them, saying why, with one", async () => {
    // One server named twice is a system of one server over its own store: the plumbing, not SESS-25's reach.
    const two = await run(["run", "--target", server.url, "--target", server.url, "--token", server.adminToken, "--run", "SESS-25"]);
    expect(two.code, two.stdout + two.stderr).toBe(0);
    expect(two.stdout).toContain(`target ${server.url} and ${server.url}`);
    expect(two.stdout).toMatch(/PASS MUST\s+cross-server\/SESS-25\/idempotent-retry-across-servers/);
    const one = await run(["run", "--target", server.url, "--token", server.adminToken, "--run", "SESS-25"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("skipped family two-targets (1 cases)");
  });

  it("lists every case with requirement, level and feature, and explains a clause", async () => {
    const list = await run(["list", "--json"]);
    expect(list.code).toBe(0);
    const cases = JSON.parse(list.stdout) as { id: string; requirement: string; level: string; feature: string }[];
    expect(cases.find((c) => c.id === "session/SESS-2/stale-head-rejected")).toMatchObject({ requirement: "SESS-2", level: "MUST", feature: "session.core" });
    const explain = await run(["explain", "sess-3"]);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain("IDEMPOTENCY_KEY_REUSED");
    expect(explain.stdout).toContain("session/SESS-3/idempotent-retry");
    expect(explain.stdout).toContain("buf curl");
    expect((await run(["explain", "NOPE-1"])).code).toBe(2);
  });

  it("exits 1 when a MUST fails and writes the JSON and JUnit reports", async () => {
    const reports = join(dir.path, "reports");
    const res = await run(["run", "--target", server.url, "--token", server.adminToken, "--run", "SESS-2", "--report-dir", reports, "--seed", "7"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("seed 7");
    const report = JSON.parse(await readFile(join(reports, "conformance-report.json"), "utf8")) as { reportVersion: string; seed: number; results: { id: string; status: string }[] };
    expect(report.reportVersion).toBe("1");
    expect(report.seed).toBe(7);
    expect(report.results.find((r) => r.id === "session/SESS-2/stale-head-rejected")?.status).toBe("failed");
    const junit = await readFile(join(reports, "junit.xml"), "utf8");
    expect(junit).toMatch(/<testcase name="session\/SESS-2\/stale-head-rejected[^"]*" classname="SESS-2"[^>]*>\s*<failure/);
  });

  it("treats listed expected failures as passing the run, and an expected failure that passes as failing it", async () => {
    const failing = join(dir.path, "xfail.txt");
    await writeFile(failing, "# known\nsession/SESS-2/stale-head-rejected\nsession/SESS-2/racing-writers-one-wins\n");
    const ok = await run(["run", "--target", server.url, "--token", server.adminToken, "--run", "session/SESS-2/stale-head-rejected", "session/SESS-2/racing-writers-one-wins", "--expected-failures", failing]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain("XFAIL");
    const passing = join(dir.path, "xpass.txt");
    await writeFile(passing, "session/SESS-2/expected-head-matches\n");
    const xpass = await run(["run", "--target", server.url, "--token", server.adminToken, "--run", "session/SESS-2/expected-head-matches", "--expected-failures", passing]);
    expect(xpass.code).toBe(1);
    expect(xpass.stdout).toContain("XPASS");
  });

  it("names every skipped family", async () => {
    const res = await run(["run", "--target", server.url, "--token", server.adminToken, "--run", "SBX-1", "SEC-1"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("skipped family sandbox.core");
    expect(res.stdout).toContain("skipped family sandbox.isolation");
  });
});

describe.skipIf(!built || !existsSync(serverMain))("oma-conformance run --target-cmd", () => {
  it("launches the target, kills it with SIGKILL (its writes held by the storage delay hook) and restarts it on the same port for the durability cases", { timeout: 120_000 }, async () => {
    const dir = await tempDir("oma-conformance-target-");
    try {
      const backend = existsSync("/usr/bin/bwrap") ? "bubblewrap" : "process";
      const res = await run(
        [
          "run",
          "--target-cmd",
          `OMA_LOG_LEVEL=error exec node '${serverMain}' serve --port {port} --data-dir '${dir.path}' --workers 0 --sandbox-backend ${backend} --fault-storage-delay-ms 100`,
          // The suite reads the target's admin token from its data directory.
          "--target-data-dir",
          dir.path,
          "--run",
          "SESS-5",
          "*/keys-survive-restart",
          "*/epochs-grow-across-restart",
          "WIRE-9",
        ],
        110_000,
      );
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/PASS MUST\s+session\/SESS-5\/acked-appends-survive-kill/);
      expect(res.stdout).toMatch(/PASS MUST\s+session\/SESS-3\/keys-survive-restart/);
      expect(res.stdout).toMatch(/PASS MUST\s+session\/SESS-10\/epochs-grow-across-restart/);
    } finally {
      await dir.remove();
    }
  });
});
