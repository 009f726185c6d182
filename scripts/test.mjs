#!/usr/bin/env node
// `npm test`: everything a fresh clone needs to prove itself, then one summary line:
//   system packages (scripts/setup-system, as root with apt) → node modules → buf lint →
//   generated code is fresh → type-check and build → every test (vitest, in two groups) →
//   "tests: N passed, N failed[, N skipped]".
// Extra arguments are passed to vitest (e.g. a file filter).
import { chmodSync, mkdtempSync, readFileSync, rmSync, cpSync, mkdirSync, existsSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { build, ensureNodeModules, red, root, run, step, yellow } from "./lib.mjs";
import { generate, missingTools, templates } from "./generate.mjs";

const bin = (name) => join(root, "node_modules", ".bin", name);
let failedSteps = 0;

function summary(passed, failed, skipped) {
  const line = `tests: ${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : "");
  console.log(line);
}

function abort(what) {
  console.error(red(`npm test: ${what} failed`));
  summary(0, 1, 0);
  process.exit(1);
}

if (process.platform === "linux") {
  step("system packages: docker.io, bubblewrap, protoc (scripts/setup-system)");
  if (run(join(root, "scripts", "setup-system"), []) !== 0) {
    console.warn(yellow("!!! system packages are missing: tests that need Docker, bubblewrap or protoc will be SKIPPED (see above)"));
    process.env.OMA_SYSTEM_INCOMPLETE = "1";
  }
}
if (ensureNodeModules() !== 0) abort("npm install");

step("buf lint");
if (run(bin("buf"), ["lint"]) !== 0) abort("buf lint");

step("checking that the generated code of every language matches `npm run generate`");
for (const t of templates) {
  const missing = missingTools(t);
  if (missing.length > 0) {
    console.warn(yellow(`!!! SKIPPED freshness check of ${t.out}: ${t.language} generation needs ${missing.join(", ")} (scripts/setup-system installs them)`));
    continue;
  }
  const tmp = mkdtempSync(join(tmpdir(), "oma-gen-"));
  for (const f of ["proto", "buf.yaml", t.template]) cpSync(join(root, f), join(tmp, f), { recursive: true });
  if (existsSync(join(root, "buf.lock"))) cpSync(join(root, "buf.lock"), join(tmp, "buf.lock"));
  mkdirSync(join(tmp, t.out), { recursive: true });
  if (generate(t, tmp) !== 0) abort(`buf generate (${t.template})`);
  const diff = run("diff", ["-r", "-x", "__pycache__", join(tmp, t.out), join(root, t.out)]);
  rmSync(tmp, { recursive: true, force: true });
  if (diff !== 0) abort(`generated code is stale: run \`npm run generate\` and commit ${t.out}`);
}

if (build() !== 0) abort("type-check/build");
// The conformance suite's own tests import the server's source, so they sit outside the
// package build and are type-checked on their own.
if (run(bin("tsc"), ["-p", join("conformance", "test")]) !== 0) abort("type-check of conformance/test");

const reportDir = join(root, "reports");
mkdirSync(reportDir, { recursive: true });
// Everything the tests create lives under one temp root of this run (TMPDIR), and their
// sandboxes' cgroups under a parent of its own, so that what they leave behind is found
// afterwards without counting other runs on the same machine.
const runRoot = mkdtempSync(join(tmpdir(), "oma-run-"));
chmodSync(runRoot, 0o1777); // a TMPDIR like /tmp: sandboxes running as another user reach their workspaces through it
const cgroupParent = `oma-test-${runRoot.slice(runRoot.lastIndexOf("-") + 1).toLowerCase()}`;
// The projects of vitest.config.ts, one after the other. Most files spend their time
// waiting on the processes they start, so one more than the cores run at once (three on
// two cores); the whole-target conformance runs then go one at a time, with the machine
// to themselves.
const groups = [
  { project: "side-by-side", files: availableParallelism() + 1 },
  { project: "alone", files: 1 },
];
let passed = 0, failed = 0, skipped = 0;
/** Each failed test as "file > test: first lines of its error", repeated before the summary line. */
const failures = [];
/** Lines of each failed test's error repeated: a conformance run's seed, its failed cases and the server's errors. */
const FIRST_LINES = 8;
const firstLines = (text) => text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).filter(Boolean).slice(0, FIRST_LINES).map((l) => l.slice(0, 300));
for (const { project, files } of groups) {
  step(`running tests (vitest, project ${project}, ${files} file${files === 1 ? "" : "s"} at a time)`);
  const reportFile = join(reportDir, `vitest-${project}.json`);
  rmSync(reportFile, { force: true });
  const status = run(bin("vitest"), ["run", "--project", project, `--maxWorkers=${files}`, "--passWithNoTests", "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`, ...process.argv.slice(2)], {
    env: { ...process.env, TMPDIR: runRoot, OMA_CGROUP_PARENT: cgroupParent },
  });
  let failedHere = 0;
  try {
    const report = JSON.parse(readFileSync(reportFile, "utf8"));
    passed += report.numPassedTests;
    failedHere = report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const file of report.testResults) {
      const name = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
      // A test file that failed to load counts as a failure too.
      if (file.status === "failed" && file.assertionResults.length === 0) {
        failedHere++;
        failures.push({ what: `${project}: ${name} (did not load)`, why: firstLines(file.message ?? "") });
      }
      for (const t of file.assertionResults) if (t.status === "failed") failures.push({ what: `${project}: ${name} > ${t.fullName}`, why: firstLines(t.failureMessages.join("\n")) });
    }
  } catch {
    failedHere = 1;
    failures.push({ what: `${project}: no report from vitest (${reportFile})`, why: [] });
  }
  if (status !== 0 && failedHere === 0) failedHere = 1;
  failed += failedHere;
}

// The suite leaves nothing behind: no process, container, cgroup, sandbox or temp dir of
// this run (server/src/testing/leftovers.ts). Counted as one more test.
step("checking that the tests left nothing behind");
const { settleLeftovers, describeLeftovers, removeLeftovers } = await import(join(root, "server", "dist", "testing", "leftovers.js"));
const scope = { root: runRoot, cgroupParent };
const found = await settleLeftovers(scope);
const leftovers = describeLeftovers(found);
if (leftovers.length === 0) {
  passed++;
} else {
  failed++;
  console.error(red(`!!! the tests left ${leftovers.length} things behind (now removed):`));
  for (const line of leftovers) console.error(red(`  ${line}`));
}
await removeLeftovers(scope, found);
// The failures again, last, where a reader of only the end of the output sees them.
if (failures.length > 0) {
  console.error(red(`!!! ${failures.length} failed test${failures.length === 1 ? "" : "s"}:`));
  for (const { what, why } of failures) {
    console.error(red(`  ${what}`));
    for (const line of why) console.error(`      ${line}`);
  }
}
if (skipped > 0) console.warn(yellow(`!!! ${skipped} tests were SKIPPED (their reasons are printed above)`));
summary(passed, failed + failedSteps, skipped);
process.exit(failed + failedSteps > 0 ? 1 : 0);
