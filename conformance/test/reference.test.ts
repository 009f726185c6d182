// The reference server passes the whole suite over gRPC (grpc-js), Connect and gRPC-Web,
// three runs each with random seeds, except the deviations listed in
// reference-expected-failures.txt (each listed one must still fail); the cases no protocol
// changes run over gRPC only (below).
// Harness cases run over gRPC with the scripted model and brain workers started from the
// compiled server (server/dist), which the runner controls for fault injection.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "../../server/src/app.js";
import { RestartableApp } from "./restartable-app.js";
import { ErrorLog } from "../../server/src/testing/error-log.js";
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

/**
 * Runs per protocol. The first is the whole suite; the others repeat the wire and session
 * families — where a timing race in a case or in the server would show — with new seeds
 * (here, with the three protocols at once, the whole suite takes 1–1.5 minutes per
 * protocol and a repeat of those families ~25 s). `npm test` makes three runs; a hunt for
 * a race asks for more with OMA_CONFORMANCE_RUNS (e.g. 20).
 */
const RUNS = Number(process.env["OMA_CONFORMANCE_RUNS"] ?? 3);
const restartCases = ["*/SESS-5/*", "*/keys-survive-restart", "*/epochs-grow-across-restart", "*/HARN-27/*"];
/**
 * The slow watcher: no run of the loop below has it; the gRPC test runs it by itself after
 * its three runs. It checks a bound, not a race, and is the slowest case of the families: it
 * appends ~24 MB and reads it back (over Connect and gRPC-Web it took 20–25 s of each ~30 s
 * repeat; beside a whole gRPC run its resumed read missed its 60 s, where it takes 2 s alone).
 */
const slowWatcher = ["*/SESS-13/slow-watcher-cut-off"];
/**
 * Cases no protocol changes, in the gRPC run only; the Connect and gRPC-Web runs, at the
 * same time, leave them out. The heaviest of a run on a host like this one:
 * - the secret and kernel batteries and the git token's (SEC-12 token-unreachable), whose
 *   work all happens inside sandboxes, on every isolated backend (on gVisor's ptrace
 *   platform a fork and exec costs ~28 ms, 8 times runc's). The secret and token batteries
 *   took 35–105 s each while their filesystem search read all of /usr; 1–2 s without it;
 * - the slow watcher, which reads over gRPC in every run (only its resume took the run's
 *   protocol; SESS-12 resumes over each): it appends ~24 MB, and took 70–105 s beside a
 *   whole run.
 */
const grpcOnly = ["*/SEC-1/*", "*/SEC-2/*", "*/SEC-17/*", "*/SEC-12/token-unreachable", ...slowWatcher];

describe.skipIf(!bwrap)("the reference server passes the suite", () => {
  // Two servers: the gRPC run restarts its target and kills brains, so the Connect and
  // gRPC-Web runs, which go on at the same time, get a server of their own.
  let served: RestartableApp;
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
    served = await RestartableApp.start((port) => open(port));
    other = await open(0, otherDir.path);
    token = (await readFile(served.app.adminTokenFile!, "utf8")).trim();
    otherToken = (await readFile(other.adminTokenFile!, "utf8")).trim();
    if (workersBuilt) {
      const url = served.app.url;
      fixture = await startScriptedFixture((id) =>
        startWorkerProcess(`exec node '${serverMain}' worker --server ${url} --id ${id}`, url, id, { ANTHROPIC_BASE_URL: fixture!.modelUrl, ANTHROPIC_API_KEY: fixture!.apiKey, OMA_LOG_LEVEL: "warn", OMA_TOKEN: token }),
      );
      await fixture.startWorker!("reference-resident");
    }
    expectedFailures = await readExpectedFailures(fileURLToPath(new URL("./reference-expected-failures.txt", import.meta.url)));
  });
  afterAll(async () => {
    await fixture?.close();
    await served?.close();
    await other?.close();
    await dir?.remove();
    await otherDir?.remove();
  });

  /** Both servers' errors (an INTERNAL answer's cause), quoted by a failed run. */
  const errors = new ErrorLog();
  const open = (port: number, dataDir = dir.path) =>
    startApp({
      dataDir,
      port,
      host: "127.0.0.1",
      limits: fastLimits,
      sandboxBackend: "bubblewrap",
      // The suite's git server and hosts listen on this machine's loopback.
      allowLoopbackUpstreams: true,
      harness: { leaseTtlMs: 3000 },
      logger: errors.logger,
    });
  /** The five longest cases of a run, with their seconds: where its time goes. */
  const slowest = (r: SuiteReport) =>
    [...r.results].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5).map((c) => `${c.id} ${(c.durationMs / 1000).toFixed(0)} s`).join(", ");
  const summary = (r: SuiteReport, mark: number) =>
    [...r.results.filter((c) => c.status === "failed" || c.status === "unexpected-pass").map((c) => `${c.status} ${c.id}: ${c.message ?? ""}`), errors.since(mark)].filter(Boolean).join("\n");

  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    it.concurrent(`over ${protocol}: the whole suite, then the wire and session cases ${RUNS - 1} times more, each run with a random seed`, { timeout: 240_000 + RUNS * 60_000 }, async () => {
      // Harness cases and restarts over gRPC, on the server only that run uses: the Connect
      // and gRPC-Web runs share the other server and would see it go away.
      const target = protocol === "grpc" ? { target: served.app.url, targetDataDir: dir.path, token } : { target: other.url, targetDataDir: otherDir.path, token: otherToken };
      const seeds: number[] = [];
      for (let run = 1; run <= RUNS; run++) {
        const whole = run === 1;
        const drivesHarness = protocol === "grpc" && fixture !== undefined && whole;
        const extra = drivesHarness ? { harness: fixture, restartTarget: served.restart } : {};
        const skip = [
          ...(drivesHarness ? [] : ["harness", ...restartCases]),
          // The gRPC run takes the slow watcher by itself after its runs (below).
          ...(protocol === "grpc" ? slowWatcher : grpcOnly),
        ];
        // Six cases at once over gRPC, the run that takes longest (harness cases, restarts);
        // three over Connect and gRPC-Web, which share the process and both cores with it.
        // With six each, the whole runs' bounds on watches and leases (15–120 s, a 1 s TTL)
        // were missed on a host where a fork costs ~9 ms.
        const mark = errors.mark;
        const report = await runSuite({ ...target, protocol, secret, expectedFailures, concurrency: protocol === "grpc" ? 6 : 3, ...(whole ? {} : { profile: ["wire", "session"] }), ...extra, skip });
        seeds.push(report.seed);
        const what = `run ${run} of ${RUNS} over ${protocol} (seed ${report.seed}; replay with --seed)`;
        if (whole) console.log(`reference over ${protocol}: ${JSON.stringify(report.summary)}; skipped families: ${report.skippedFamilies.map((f) => f.name).join(", ") || "none"}; took ${(report.durationMs / 1000).toFixed(0)} s, longest cases: ${slowest(report)}`);
        expect(report.summary.failed, `${what}\n${summary(report, mark)}`).toBe(0);
        expect(report.summary.unexpectedPasses, `${what}\n${summary(report, mark)}`).toBe(0);
        expect(report.exitCode, what).toBe(0);
        expect(report.summary.passed, what).toBeGreaterThan(60);
      }
      if (protocol === "grpc") {
        // The slow watcher last, by itself: beside a whole run its resumed read of ~24 MB
        // missed its 60 s (it takes 2 s alone); the other protocols' runs end before this one.
        const mark = errors.mark;
        const report = await runSuite({ ...target, protocol, secret, expectedFailures, run: slowWatcher });
        expect(report.summary.failed, `the slow watcher over gRPC (seed ${report.seed})\n${summary(report, mark)}`).toBe(0);
        expect(report.summary.passed, "the slow watcher over gRPC").toBe(1);
      }
      console.log(`reference over ${protocol}: ${RUNS} runs passed, seeds ${seeds.join(", ")}`);
    });
  }
});
