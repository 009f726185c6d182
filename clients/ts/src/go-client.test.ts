import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientPromiseTests } from "./testing/language-driver-tests.js";
import { haveServerBuild, repoRoot, startServerProcess, type ServerProcess } from "./testing/server-process.js";

// The Go client (clients/go), built offline over Debian's Go sources: its unit tests and
// the end-to-end promises of every client against the reference server as a process.
const goDir = join(repoRoot, "clients", "go");
const offlineGo = join(goDir, "offline-go");
const haveGo = spawnSync("sh", ["-c", "command -v go"]).status === 0 && existsSync("/usr/share/gocode/src/google.golang.org/grpc");
if (!haveGo) console.warn("!!! SKIPPED Go client tests because Debian's Go and gRPC Go sources are missing (scripts/setup-system installs them)");
if (haveGo && !haveServerBuild) console.warn("!!! SKIPPED Go end-to-end tests because server/dist is not built (npm test builds it)");

describe.skipIf(!haveGo)("Go client", () => {
  it("passes its unit tests (go test over Debian's Go sources, offline)", () => {
    const r = spawnSync(offlineGo, ["test", "./omaclient/"], { cwd: goDir, encoding: "utf8", timeout: 120_000 });
    expect(r.stdout + r.stderr).toMatch(/^ok\s+oma\.dev\/clients\/go\/omaclient/m);
    expect(r.status).toBe(0);
  });
});

describe.skipIf(!haveGo || !haveServerBuild)("Go client against a server that crashes and comes back", () => {
  let server: ServerProcess;
  let buildDir: string;
  let driverBin = "";
  beforeAll(async () => {
    buildDir = mkdtempSync(join(tmpdir(), "oma-go-driver-"));
    driverBin = join(buildDir, "e2edriver");
    execFileSync(offlineGo, ["build", "-o", driverBin, "./internal/e2edriver"], { cwd: goDir, timeout: 120_000 });
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });
  clientPromiseTests({ language: "Go", slowWatcherPaddingBytes: 1024, command: () => ({ cmd: driverBin, args: [] }) }, () => server);
});
