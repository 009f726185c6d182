import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOmaClient } from "./node.js";
import { appenderPromiseTests } from "./testing/appender-driver-tests.js";
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
  const goDriver = { language: "Go", slowWatcherPaddingBytes: 1024, command: () => ({ cmd: driverBin, args: [] }) };
  clientPromiseTests(goDriver, () => server);
  appenderPromiseTests(goDriver, () => server);

  it("Go: a retried emit of a Struct, re-encoded with its keys in another order, is stored once (SESS-3)", async () => {
    const oma = createOmaClient({ baseUrl: server.url, token: server.token });
    const sessionId = `xlang-struct-go-${process.pid}-${Date.now()}`;
    await oma.sessions.createSession({ sessionId, agent: { model: "scripted" } });
    const r = spawnSync(driverBin, ["--addr", `127.0.0.1:${server.port}`, "--session", sessionId, "--lossy-struct", "5"], { encoding: "utf8", timeout: 60_000, env: { ...process.env, OMA_TOKEN: server.token } });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // Go really does send other bytes on the retry: one Struct, several encodings.
    expect(Number(lines.at(-1)!.split(" ")[1])).toBeGreaterThan(1);
    // Each emit lost its first acknowledgement, retried once, and got its original back.
    expect(lines.slice(0, -1)).toEqual([1, 2, 3, 4, 5].map((seq) => `emitted ${seq} true 2`));
    const log = await oma.sessions.getEvents({ sessionId });
    expect(log.events.map((e) => e.payload.case === "custom" && e.payload.value.type)).toEqual(Array(5).fill("driver-struct"));
  });
});
