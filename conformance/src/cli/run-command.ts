import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createColors } from "picocolors";
import type { Protocol } from "../client/rpc-client.js";
import { readExpectedFailures } from "../runner/expected-failures.js";
import type { CaseResult } from "../runner/case.js";
import { toJUnit, type SuiteReport } from "../runner/report.js";
import { RunBroken, runSuite } from "../runner/run-suite.js";
import { startScriptedFixture, type ScriptedFixture } from "../runner/scripted-fixture.js";
import { randomSeed } from "../runner/seeded-order.js";
import { freePort, launchTarget, startWorkerProcess, type LaunchedTarget } from "../runner/target-process.js";

// Colour only on a terminal (and never under NO_COLOR), as every OMA command does: a CI
// log or a pipe gets plain lines.
const pc = createColors(process.stdout.isTTY === true && !("NO_COLOR" in process.env));

export interface RunFlags {
  /** --target, once or twice (a second server of the same system). */
  target: string[];
  targetCmd?: string;
  workerCmd?: string;
  protocol: string;
  profile?: string[];
  run?: string[];
  skip?: string[];
  reportDir?: string;
  timeoutScale: number;
  seed?: number;
  expectedFailures?: string;
  secret?: string;
  targetDataDir?: string;
  token?: string;
  tokenFile?: string;
  strict: boolean;
  concurrency: number;
  json: boolean;
}

const protocols: readonly Protocol[] = ["grpc", "connect", "grpc-web"];

/** `oma-conformance run`: returns the exit code (0 passed, 1 failed, 2 the run broke). */
export async function runCommand(flags: RunFlags): Promise<number> {
  let fixture: ScriptedFixture | undefined;
  let launched: LaunchedTarget | undefined;
  let restartTarget: (() => Promise<void>) | undefined;
  try {
    if (!protocols.includes(flags.protocol as Protocol)) throw new RunBroken(`--protocol must be one of ${protocols.join(", ")}`);
    if (flags.target.length === 0 && !flags.targetCmd) throw new RunBroken("give --target URL or --target-cmd COMMAND");
    if (flags.target.length > 2) throw new RunBroken("give --target at most twice: the suite checks two servers of one system");
    const [firstTarget, otherTarget] = flags.target;
    const seed = flags.seed ?? randomSeed();
    const expectedFailures = flags.expectedFailures ? await readExpectedFailures(flags.expectedFailures) : undefined;
    let workerTarget = firstTarget ?? "";
    let token: string | undefined;
    if (flags.targetCmd) {
      const cmd = flags.workerCmd;
      // Workers started by the runner (--worker-cmd) can be killed by fault-injection cases;
      // they get the run's token as OMA_TOKEN.
      const startWorker = cmd
        ? (id: string) =>
            startWorkerProcess(cmd, workerTarget, id, { ANTHROPIC_BASE_URL: fixture!.modelUrl, ANTHROPIC_API_KEY: fixture!.apiKey, ...(token ? { OMA_TOKEN: token } : {}) })
        : undefined;
      fixture = await startScriptedFixture(startWorker);
      const env: Record<string, string> = { ANTHROPIC_BASE_URL: fixture.modelUrl, ANTHROPIC_API_KEY: fixture.apiKey };
      if (flags.secret !== undefined) env["OMA_CONFORMANCE_SECRET"] = flags.secret;
      // `{port}` in the command: the runner picks the port, so a restarted target comes back on the same URL.
      const command = flags.targetCmd.includes("{port}") ? flags.targetCmd.replaceAll("{port}", String(await freePort())) : flags.targetCmd;
      const waitMs = 60_000 * flags.timeoutScale;
      launched = await launchTarget(command, env, waitMs);
      workerTarget ||= launched.url;
      // The target wrote its admin token when it started, so it is read only now.
      token = await resolveToken(flags);
      if (command !== flags.targetCmd) {
        restartTarget = async () => {
          const before = launched!.url;
          await launched!.stop();
          launched = await launchTarget(command, env, waitMs);
          if (launched.url !== before) throw new Error(`the restarted target listens on ${launched.url}, not ${before}`);
        };
      }
      if (fixture.startWorker) await fixture.startWorker(`conformance-resident-${process.pid}`);
    }
    token ??= await resolveToken(flags);
    const target = firstTarget ?? launched!.url;
    const log = (line: string) => (flags.json ? process.stderr : process.stdout).write(line + "\n");
    log(pc.bold(`oma-conformance: target ${target}${otherTarget ? ` and ${otherTarget}` : ""} over ${flags.protocol}, seed ${seed}`));
    const report = await runSuite({
      target,
      ...(otherTarget ? { otherTarget } : {}),
      protocol: flags.protocol as Protocol,
      ...(flags.profile ? { profile: flags.profile } : {}),
      ...(flags.run ? { run: flags.run } : {}),
      ...(flags.skip ? { skip: flags.skip } : {}),
      timeoutScale: flags.timeoutScale,
      seed,
      ...(expectedFailures ? { expectedFailures } : {}),
      ...(flags.secret !== undefined ? { secret: flags.secret } : {}),
      ...(flags.targetDataDir !== undefined ? { targetDataDir: flags.targetDataDir } : {}),
      ...(token !== undefined ? { token } : {}),
      strict: flags.strict,
      concurrency: flags.concurrency,
      ...(fixture ? { harness: fixture } : {}),
      ...(restartTarget ? { restartTarget } : {}),
      onResult: (r) => log(formatResult(r)),
    });
    if (flags.reportDir) await writeReports(flags.reportDir, report);
    if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else printSummary(report);
    return report.exitCode;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(pc.red(`oma-conformance: the run could not happen: ${message}\n`));
    return 2;
  } finally {
    await launched?.stop();
    await fixture?.close();
  }
}

/** --token, else --token-file, else OMA_TOKEN, else `<--target-data-dir>/admin.token` if there is one. */
async function resolveToken(flags: RunFlags): Promise<string | undefined> {
  if (flags.token) return flags.token;
  if (flags.tokenFile) return (await readFile(flags.tokenFile, "utf8")).trim();
  if (process.env["OMA_TOKEN"]) return process.env["OMA_TOKEN"];
  if (flags.targetDataDir) return (await readFile(join(flags.targetDataDir, "admin.token"), "utf8").catch(() => "")).trim() || undefined;
  return undefined;
}

async function writeReports(dir: string, report: SuiteReport): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "conformance-report.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(join(dir, "junit.xml"), toJUnit(report));
}

function formatResult(r: CaseResult): string {
  const tag = {
    passed: pc.green("PASS"),
    failed: r.level === "MUST" ? pc.red("FAIL") : pc.yellow("WARN"),
    skipped: pc.dim("SKIP"),
    "expected-failure": pc.yellow("XFAIL"),
    "unexpected-pass": pc.red("XPASS"),
  }[r.status];
  const why = r.message && r.status !== "passed" ? `\n        ${r.status === "skipped" ? pc.dim(r.message) : r.message}` : "";
  return `${tag} ${r.level.padEnd(6)} ${r.id} ${pc.dim(`(${r.durationMs} ms)`)}${why}`;
}

function printSummary(report: SuiteReport): void {
  const s = report.summary;
  const out: string[] = [""];
  out.push(`server: ${report.server.implementation} ${report.server.version} (spec ${report.server.specVersion}); features: ${report.server.features.join(", ") || "none"}`);
  for (const f of report.skippedFamilies) out.push(pc.yellow(`skipped family ${f.name} (${f.cases} cases): ${f.reason}`));
  out.push(
    `${s.passed} passed, ${s.failed} failed (MUST ${s.failedByLevel.MUST}, SHOULD ${s.failedByLevel.SHOULD}, MAY ${s.failedByLevel.MAY}), ` +
      `${s.skipped} skipped, ${s.expectedFailures} expected failures, ${s.unexpectedPasses} unexpected passes; seed ${report.seed}`,
  );
  out.push(report.exitCode === 0 ? pc.green("conformance: PASSED") : pc.red("conformance: FAILED"));
  process.stdout.write(out.join("\n") + "\n");
}
