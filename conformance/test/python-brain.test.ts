// A second brain, in another language: the Python worker of clients/python/oma_brain,
// built on the Python client and calling the Messages API over plain HTTP, runs every
// harness case of the suite against the reference server — the server starts no brain of
// its own, so every brain the cases see (the resident worker and those the fault cases
// start and SIGKILL) is a Python process.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../../server/src/app.js";
import { RestartableApp } from "./restartable-app.js";
import { createLogger } from "../../server/src/logger.js";
import { tempDir } from "../../server/src/testing/temp-dir.js";
import { runSuite } from "../src/runner/run-suite.js";
import { startScriptedFixture, type ScriptedFixture } from "../src/runner/scripted-fixture.js";
import { startWorkerProcess } from "../src/runner/target-process.js";
import { fastLimits } from "./variant-server.js";

const python = "/usr/bin/python3";
const pythonDir = fileURLToPath(new URL("../../clients/python", import.meta.url));
const havePython = spawnSync(python, ["-c", "import grpc, google.protobuf"]).status === 0;
const bwrap = existsSync("/usr/bin/bwrap");
if (!havePython) console.log("!!! SKIPPED the Python brain's conformance run because /usr/bin/python3 with grpcio is missing (scripts/setup-system installs it)");
if (!bwrap) console.log("!!! SKIPPED the Python brain's conformance run because bubblewrap (/usr/bin/bwrap) is not installed");

/** How the runner starts one Python brain worker (its --worker-cmd). */
export const pythonWorkerCommand = `cd '${pythonDir}' && OMA_LOG_LEVEL=warn exec ${python} -m oma_brain --server {target} --id {id}`;

describe.skipIf(!havePython || !bwrap)("the Python brain passes the suite's harness cases", () => {
  let target: RestartableApp;
  let dir: { path: string; remove(): Promise<void> };
  let fixture: ScriptedFixture;
  /** The admin token the server wrote, for the suite. */
  let token = "";

  beforeAll(async () => {
    dir = await tempDir("oma-python-brain-");
    target = await RestartableApp.start(open);
    token = (await readFile(target.app.adminTokenFile!, "utf8")).trim();
    // A worker token may only open ConnectWorker: everything a brain does on its session it
    // must do with the assignment's session token (SEC-7), renewed by RenewLease.
    const workerToken = (await target.app.localWorkerToken())!;
    const url = target.app.url;
    fixture = await startScriptedFixture((id) => startWorkerProcess(pythonWorkerCommand, url, id, { ANTHROPIC_BASE_URL: fixture.modelUrl, ANTHROPIC_API_KEY: fixture.apiKey, OMA_TOKEN: workerToken }));
    await fixture.startWorker!("python-resident");
  });
  afterAll(async () => {
    await fixture?.close();
    await target?.close();
    await dir?.remove();
  });

  const open = (port: number) =>
    startApp({ dataDir: dir.path, port, host: "127.0.0.1", limits: fastLimits, sandboxBackend: "bubblewrap", harness: { leaseTtlMs: 3000 }, logger: createLogger({ level: "silent" }) });

  it("over gRPC, fault injection and a server restart included", { timeout: 180_000 }, async () => {
    // The server claims harness.context and harness.mcp for its own brain; the Python brain
    // has no context management (HARN-21..23) and no MCP client (SEC-14), so those cases
    // are left out here, and said so.
    console.log("!!! the Python brain's run leaves out the harness.context cases (HARN-21..23) and the harness.mcp cases (SEC-14): the Python brain does not manage its context and has no MCP client");
    const report = await runSuite({ target: target.app.url, token, protocol: "grpc", profile: ["harness"], skip: ["harness.context", "harness.mcp"], harness: fixture, restartTarget: target.restart, concurrency: 6 });
    const failures = report.results.filter((r) => r.status === "failed").map((r) => `${r.id}: ${r.message ?? ""}`);
    console.log(`Python brain: ${JSON.stringify(report.summary)}`);
    for (const failure of failures) console.log(`Python brain failed ${failure}`);
    expect(failures).toEqual([]);
    expect(report.results.filter((r) => r.status === "skipped").map((r) => `${r.id}: ${r.message ?? ""}`)).toEqual([]);
    expect(report.summary.passed).toBeGreaterThanOrEqual(15);
  });
});
