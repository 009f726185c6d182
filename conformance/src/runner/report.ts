import type { CaseResult, Feature, Level } from "./case.js";

/** Version of the JSON report's shape; bumped on any incompatible change. */
export const REPORT_VERSION = "1";

/** A family of cases the run did not exercise, and why. */
export interface SkippedFamily {
  /** The feature or need, e.g. `sandbox.stream` or `secret`. */
  readonly name: string;
  readonly reason: string;
  readonly cases: number;
}

export interface SuiteSummary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly expectedFailures: number;
  readonly unexpectedPasses: number;
  /** Failed cases by level. */
  readonly failedByLevel: Readonly<Record<Level, number>>;
}

export interface SuiteReport {
  readonly reportVersion: string;
  readonly suiteVersion: string;
  readonly specVersion: string;
  readonly target: string;
  /** The second server of the system, when the run was given two targets. */
  readonly otherTarget?: string;
  readonly protocol: string;
  readonly seed: number;
  readonly strict: boolean;
  readonly startTime: string;
  readonly durationMs: number;
  readonly server: {
    readonly implementation: string;
    readonly version: string;
    readonly specVersion: string;
    readonly features: readonly string[];
    readonly sandboxBackends: readonly string[];
  };
  /** Features whose MUST cases are mandatory in this run. */
  readonly testedFeatures: readonly Feature[];
  readonly skippedFamilies: readonly SkippedFamily[];
  /** Cases left out by --profile/--run/--skip. */
  readonly deselected: number;
  readonly results: readonly CaseResult[];
  readonly summary: SuiteSummary;
  /** 0: passed; 1: a MUST (or, strict, a SHOULD) failed or an expected failure passed. */
  readonly exitCode: 0 | 1;
}

export function summarize(results: readonly CaseResult[]): SuiteSummary {
  const count = (s: CaseResult["status"]) => results.filter((r) => r.status === s).length;
  const failedAt = (l: Level) => results.filter((r) => r.status === "failed" && r.level === l).length;
  return {
    passed: count("passed"),
    failed: count("failed"),
    skipped: count("skipped"),
    expectedFailures: count("expected-failure"),
    unexpectedPasses: count("unexpected-pass"),
    failedByLevel: { MUST: failedAt("MUST"), SHOULD: failedAt("SHOULD"), MAY: failedAt("MAY") },
  };
}

/** A MAY never fails a run; a SHOULD only under --strict. */
export function exitCodeOf(summary: SuiteSummary, strict: boolean): 0 | 1 {
  if (summary.failedByLevel.MUST > 0 || summary.unexpectedPasses > 0) return 1;
  if (strict && summary.failedByLevel.SHOULD > 0) return 1;
  return 0;
}

/** JUnit XML: one testsuite per family, one testcase per case (classname = requirement). */
export function toJUnit(report: SuiteReport): string {
  const byFamily = new Map<string, CaseResult[]>();
  for (const r of report.results) {
    const family = r.id.split("/")[0] ?? r.id;
    byFamily.set(family, [...(byFamily.get(family) ?? []), r]);
  }
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`];
  const s = report.summary;
  lines.push(
    `<testsuites name="oma-conformance" tests="${report.results.length}" failures="${s.failed + s.unexpectedPasses}" skipped="${s.skipped}" time="${secs(report.durationMs)}">`,
  );
  for (const [family, results] of [...byFamily].sort(([a], [b]) => a.localeCompare(b))) {
    const failures = results.filter((r) => r.status === "failed" || r.status === "unexpected-pass").length;
    const skipped = results.filter((r) => r.status === "skipped" || r.status === "expected-failure").length;
    const time = results.reduce((t, r) => t + r.durationMs, 0);
    lines.push(`  <testsuite name="${esc(family)}" tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${secs(time)}">`);
    for (const r of [...results].sort((a, b) => a.id.localeCompare(b.id))) {
      const open = `    <testcase name="${esc(`${r.id} [${r.level}] ${r.title}`)}" classname="${esc(r.requirement)}" time="${secs(r.durationMs)}"`;
      const body: string[] = [];
      if (r.status === "failed") body.push(`      <failure message="${esc(r.message ?? "")}" type="${r.level}"/>`);
      if (r.status === "unexpected-pass") body.push(`      <failure message="listed as an expected failure, but passed" type="unexpected-pass"/>`);
      if (r.status === "skipped") body.push(`      <skipped message="${esc(r.message ?? "")}"/>`);
      if (r.status === "expected-failure") body.push(`      <skipped message="${esc(`expected failure: ${r.message ?? ""}`)}"/>`);
      if (r.notes.length) body.push(`      <system-out>${esc(r.notes.join("\n"))}</system-out>`);
      lines.push(body.length ? `${open}>\n${body.join("\n")}\n    </testcase>` : `${open}/>`);
    }
    lines.push(`  </testsuite>`);
  }
  lines.push(`</testsuites>`);
  return lines.join("\n") + "\n";
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
