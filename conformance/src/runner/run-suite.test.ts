// The runner's own rules, on a stub target: levels decide the exit code (a MAY never
// fails a run, a SHOULD only under strict), undeclared features are skipped by family,
// a case past its bound fails, patterns select by id, requirement, family or feature.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVariantServer, type VariantServer } from "../../test/variant-server.js";
import { CaseFailure } from "./assertions.js";
import type { ConformanceCase } from "./case.js";
import { runSuite } from "./run-suite.js";
import { select } from "./select.js";
import { shuffle } from "./seeded-order.js";
import { toJUnit } from "./report.js";

const fake = (id: string, level: ConformanceCase["level"], outcome: "pass" | "fail" | "hang", feature: ConformanceCase["feature"] = "core"): ConformanceCase => ({
  id,
  requirement: id.split("/")[1]!,
  level,
  feature,
  title: `fake ${id}`,
  timeoutMs: 300,
  async run(ctx) {
    if (outcome === "fail") throw new CaseFailure("broken <on purpose> & \"quoted\"");
    if (outcome === "hang") await new Promise((r) => setTimeout(r, 5000));
    void ctx;
  },
});

describe("runSuite", () => {
  let server: VariantServer;
  beforeAll(async () => {
    server = await startVariantServer({});
  });
  afterAll(() => server?.close());

  it("fails the run for a MUST, for a SHOULD only under strict, never for a MAY", async () => {
    const may = await runSuite({ target: server.url, token: server.adminToken, cases: [fake("x/MAY-1/a", "MAY", "fail"), fake("x/WIRE-1/b", "MUST", "pass")] });
    expect(may.exitCode).toBe(0);
    const should = [fake("x/SHOULD-1/a", "SHOULD", "fail")];
    expect((await runSuite({ target: server.url, token: server.adminToken, cases: should })).exitCode).toBe(0);
    expect((await runSuite({ target: server.url, token: server.adminToken, cases: should, strict: true })).exitCode).toBe(1);
    const must = await runSuite({ target: server.url, token: server.adminToken, cases: [fake("x/MUST-1/a", "MUST", "fail")] });
    expect(must.exitCode).toBe(1);
    expect(must.summary.failedByLevel.MUST).toBe(1);
  });

  it("skips cases of undeclared features and names their family", async () => {
    const report = await runSuite({ target: server.url, token: server.adminToken, cases: [fake("x/SBX-1/a", "MUST", "fail", "sandbox.core"), fake("x/SESS-1/a", "MUST", "pass", "session.core")] });
    expect(report.exitCode).toBe(0);
    expect(report.results.find((r) => r.id === "x/SBX-1/a")?.status).toBe("skipped");
    expect(report.skippedFamilies).toEqual([{ name: "sandbox.core", reason: expect.stringContaining("sandbox.core"), cases: 1 }]);
  });

  it("fails a case that outlives its bound, scaled by timeoutScale", async () => {
    const report = await runSuite({ target: server.url, token: server.adminToken, cases: [fake("x/MUST-2/hang", "MUST", "hang")] });
    expect(report.results[0]?.status).toBe("failed");
    expect(report.results[0]?.message).toContain("300 ms");
  });

  it("makes an observation cases share (ctx.once) once per run, and again in the next run", async () => {
    let observed = 0;
    const seen: number[] = [];
    const sharing = (id: string): ConformanceCase => ({
      ...fake(id, "MUST", "pass"),
      async run(ctx) {
        seen.push(await ctx.once("battery", async () => ++observed));
        // A key of its own is observed on its own.
        seen.push(await ctx.once(`own:${id}`, async () => 100 + ++observed));
      },
    });
    const cases = [sharing("x/MUST-1/a"), sharing("x/MUST-2/b")];
    const report = await runSuite({ target: server.url, token: server.adminToken, cases, concurrency: 2 });
    expect(report.summary.passed).toBe(2);
    expect(observed).toBe(3);
    expect(seen.filter((v) => v < 100)).toEqual([1, 1]);
    await runSuite({ target: server.url, token: server.adminToken, cases });
    expect(observed).toBe(6);
  });

  it("writes JUnit XML with escaped messages", async () => {
    const report = await runSuite({ target: server.url, token: server.adminToken, cases: [fake("x/MUST-1/a", "MUST", "fail")] });
    const xml = toJUnit(report);
    expect(xml).toContain("broken &lt;on purpose&gt; &amp; &quot;quoted&quot;");
    expect(xml).toContain('classname="MUST-1"');
  });
});

describe("selection and order", () => {
  const cases = [fake("session/SESS-1/a", "MUST", "pass", "session.core"), fake("session/SESS-10/b", "MUST", "pass", "session.leases"), fake("wire/WIRE-4/c", "MUST", "pass")];
  it("matches requirement ids exactly, globs, families and features", () => {
    expect(select(cases, { run: ["SESS-1"] }).map((c) => c.id)).toEqual(["session/SESS-1/a"]);
    expect(select(cases, { run: ["SESS-1*"] }).map((c) => c.id)).toEqual(["session/SESS-1/a", "session/SESS-10/b"]);
    expect(select(cases, { profile: ["session"], skip: ["session.leases"] }).map((c) => c.id)).toEqual(["session/SESS-1/a"]);
    expect(select(cases, { run: ["*/c"] }).map((c) => c.id)).toEqual(["wire/WIRE-4/c"]);
  });
  it("shuffles deterministically by seed", () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(shuffle(items, 42)).toEqual(shuffle(items, 42));
    expect(shuffle(items, 42)).not.toEqual(shuffle(items, 43));
    expect([...shuffle(items, 42)].sort((a, b) => a - b)).toEqual(items);
  });
});
