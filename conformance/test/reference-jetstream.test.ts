// The reference server with its session log on a 3-node NATS JetStream cluster (R3) passes
// the whole suite over gRPC, once, harness and restart cases included: every rule of the
// log holds on the shared store as on LevelDB. The cluster is this file's own, so no other
// test's servers share its dispatch records or its workers. (reference.test.ts runs the
// suite on LevelDB over every protocol, five times.)
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../../server/src/app.js";
import { ErrorLog } from "../../server/src/testing/error-log.js";
import { NatsCluster, natsUnavailable, TEST_VAULT_KEY } from "../../server/src/testing/nats-cluster.js";
import { tempDir } from "../../server/src/testing/temp-dir.js";
import { readExpectedFailures } from "../src/runner/expected-failures.js";
import { runSuite } from "../src/runner/run-suite.js";
import { startScriptedFixture, type ScriptedFixture } from "../src/runner/scripted-fixture.js";
import { startWorkerProcess } from "../src/runner/target-process.js";
import { RestartableApp } from "./restartable-app.js";
import { fastLimits } from "./variant-server.js";

const serverMain = fileURLToPath(new URL("../../server/dist/cli/main.js", import.meta.url));
const missing = natsUnavailable() ?? (existsSync("/usr/bin/bwrap") ? undefined : "bubblewrap (/usr/bin/bwrap) is not installed") ?? (existsSync(serverMain) ? undefined : "server/dist is not built (npx tsc -b)");
if (missing) console.warn(`!!! SKIPPED the conformance suite against a server on JetStream: ${missing}`);

const secret = `conf${randomBytes(12).toString("hex")}`;

describe.skipIf(missing !== undefined)("the reference server on a 3-node JetStream cluster passes the suite", () => {
  let cluster: NatsCluster;
  let served: RestartableApp;
  let dir: { path: string; remove(): Promise<void> };
  let fixture: ScriptedFixture;
  let token = "";
  const errors = new ErrorLog();

  beforeAll(async () => {
    process.env["OMA_CONFORMANCE_SECRET"] = secret;
    [cluster, dir] = await Promise.all([NatsCluster.start(3), tempDir("oma-reference-jetstream-")]);
    served = await RestartableApp.start((port) =>
      startApp({
        dataDir: dir.path,
        port,
        host: "127.0.0.1",
        store: cluster.url,
        vaultKey: TEST_VAULT_KEY,
        limits: fastLimits,
        sandboxBackend: "bubblewrap",
        allowLoopbackUpstreams: true,
        harness: { leaseTtlMs: 3000 },
        logger: errors.logger,
      }),
    );
    token = (await readFile(served.app.adminTokenFile!, "utf8")).trim();
    const url = served.app.url;
    fixture = await startScriptedFixture((id) =>
      startWorkerProcess(`exec node '${serverMain}' worker --server ${url} --id ${id}`, url, id, { ANTHROPIC_BASE_URL: fixture.modelUrl, ANTHROPIC_API_KEY: fixture.apiKey, OMA_LOG_LEVEL: "warn", OMA_TOKEN: token }),
    );
    await fixture.startWorker!("reference-jetstream-resident");
  });
  afterAll(async () => {
    await fixture?.close();
    await served?.close();
    await cluster?.stop();
    await dir?.remove();
  });

  it("over gRPC: the whole suite", { timeout: 420_000 }, async () => {
    const expectedFailures = await readExpectedFailures(fileURLToPath(new URL("./reference-expected-failures.txt", import.meta.url)));
    const report = await runSuite({ target: served.app.url, targetDataDir: dir.path, token, protocol: "grpc", secret, expectedFailures, concurrency: 6, harness: fixture, restartTarget: served.restart });
    const failures = report.results.filter((c) => c.status === "failed" || c.status === "unexpected-pass").map((c) => `${c.status} ${c.id}: ${c.message ?? ""}`).join("\n");
    const what = [`seed ${report.seed} (replay with --seed)`, failures, errors.since()].filter(Boolean).join("\n");
    console.log(`reference on JetStream over grpc: ${JSON.stringify(report.summary)}; skipped families: ${report.skippedFamilies.map((f) => f.name).join(", ") || "none"}`);
    expect(report.summary.failed, what).toBe(0);
    expect(report.summary.unexpectedPasses, what).toBe(0);
    expect(report.exitCode, what).toBe(0);
    expect(report.summary.passed, what).toBeGreaterThan(140);
  });
});
