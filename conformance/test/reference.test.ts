// The reference server passes the whole suite over gRPC (grpc-js) and Connect (and the
// session and wire cases over gRPC-Web), except the
// deviations listed in reference-expected-failures.txt (each listed one must still fail).
// Harness cases run over gRPC with the scripted model and brain workers started from the
// compiled server (server/dist), which the runner controls for fault injection.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "../../server/src/app.js";
import { createLogger } from "../../server/src/logger.js";
import { tempDir } from "../../server/src/testing/temp-dir.js";
import { readExpectedFailures } from "../src/runner/expected-failures.js";
import { runSuite } from "../src/runner/run-suite.js";
import type { SuiteReport } from "../src/runner/report.js";
import { startScriptedFixture, type ScriptedFixture } from "../src/runner/scripted-fixture.js";
import { startWorkerProcess } from "../src/runner/target-process.js";
import { fastLimits } from "./variant-server.js";

const serverMain = fileURLToPath(new URL("../../server/dist/cli/main.js", import.meta.url));
const workersBuilt = existsSync(serverMain);
if (!workersBuilt) console.log("!!! SKIPPED the harness cases of the reference run because server/dist is not built (npx tsc -b)");

const bwrap = existsSync("/usr/bin/bwrap");
if (!bwrap) console.log("!!! SKIPPED the reference conformance run because bubblewrap (/usr/bin/bwrap) is not installed");

const secret = `conf${randomBytes(12).toString("hex")}`;

describe.skipIf(!bwrap)("the reference server passes the suite", () => {
  // Two servers: the gRPC run restarts its target and kills brains, so the Connect and
  // gRPC-Web runs, which go on at the same time, get a server of their own.
  let app: RunningApp;
  let other: RunningApp;
  /** The admin tokens the two servers wrote to their data directories. */
  let token = "";
  let otherToken = "";
  let dir: { path: string; remove(): Promise<void> };
  let otherDir: { path: string; remove(): Promise<void> };
  let expectedFailures: string[];
  let fixture: ScriptedFixture | undefined;

  beforeAll(async () => {
    // The server holds the secret in its environment, as an operator would start it.
    process.env["OMA_CONFORMANCE_SECRET"] = secret;
    dir = await tempDir("oma-reference-");
    otherDir = await tempDir("oma-reference-other-");
    app = await open(0);
    other = await open(0, otherDir.path);
    token = (await readFile(app.adminTokenFile!, "utf8")).trim();
    otherToken = (await readFile(other.adminTokenFile!, "utf8")).trim();
    if (workersBuilt) {
      const url = app.url;
      fixture = await startScriptedFixture((id) =>
        startWorkerProcess(`exec node '${serverMain}' worker --server ${url} --id ${id}`, url, id, { ANTHROPIC_BASE_URL: fixture!.modelUrl, ANTHROPIC_API_KEY: fixture!.apiKey, OMA_LOG_LEVEL: "warn", OMA_TOKEN: token }),
      );
      await fixture.startWorker!("reference-resident");
    }
    expectedFailures = await readExpectedFailures(fileURLToPath(new URL("./reference-expected-failures.txt", import.meta.url)));
  });
  afterAll(async () => {
    await fixture?.close();
    await app?.close();
    await other?.close();
    await dir?.remove();
    await otherDir?.remove();
  });

  const open = (port: number, dataDir = dir.path) =>
    startApp({
      dataDir,
      port,
      host: "127.0.0.1",
      limits: fastLimits,
      sandboxBackend: "bubblewrap",
      harness: { leaseTtlMs: 3000 },
      logger: createLogger({ level: "silent" }),
    });
  // A graceful restart on the same data and port; the CLI's --target-cmd restarts with SIGKILL.
  let restarting: Promise<void> | undefined;
  const restartTarget = () =>
    (restarting ??= (async () => {
      const port = app.port;
      await app.close();
      app = await open(port);
    })().finally(() => (restarting = undefined)));

  const summary = (r: SuiteReport) =>
    r.results.filter((c) => c.status === "failed" || c.status === "unexpected-pass").map((c) => `${c.status} ${c.id}: ${c.message ?? ""}`).join("\n");

  it.concurrent("over gRPC-Web (wire, append and watch cases)", { timeout: 180_000 }, async () => {
    const report = await runSuite({ target: other.url, token: otherToken, protocol: "grpc-web", run: ["wire", "SESS-2", "SESS-3", "SESS-12"], skip: ["*/keys-survive-restart"], expectedFailures, concurrency: 6 });
    expect(report.summary.failed, summary(report)).toBe(0);
    expect(report.exitCode).toBe(0);
  });

  for (const protocol of ["grpc", "connect"] as const) {
    it.concurrent(`over ${protocol}`, { timeout: 180_000 }, async () => {
      // Harness cases and restarts once, over gRPC, on the server only that run uses: the
      // gRPC-Web run shares the Connect run's server and would see it go away.
      const target = protocol === "grpc" ? { target: app.url, targetDataDir: dir.path, token } : { target: other.url, targetDataDir: otherDir.path, token: otherToken };
      const harness = protocol === "grpc" && fixture ? { harness: fixture, restartTarget } : { skip: ["harness", "*/SESS-5/*", "*/keys-survive-restart", "*/epochs-grow-across-restart"] };
      const report = await runSuite({ ...target, protocol, secret, expectedFailures, concurrency: 6, ...harness });
      console.log(`reference over ${protocol}: ${JSON.stringify(report.summary)}; skipped families: ${report.skippedFamilies.map((f) => f.name).join(", ") || "none"}`);
      expect(report.summary.failed, summary(report)).toBe(0);
      expect(report.summary.unexpectedPasses, summary(report)).toBe(0);
      expect(report.exitCode).toBe(0);
      expect(report.summary.passed).toBeGreaterThan(60);
    });
  }
});
