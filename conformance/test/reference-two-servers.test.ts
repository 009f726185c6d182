// Two reference servers over one 3-node JetStream cluster (the run's shared cluster, R3)
// pass the cross-server cases (SESS-23..25, SEC-18, SBX-17) given as two targets, over every protocol; with
// one target those cases are reported skipped, saying why. Both servers authenticate, with
// tokens on the same cluster: the suite's one token (server A's admin token) works on both.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { natsUnavailable } from "../../server/src/testing/nats-cluster.js";
// The declaration of inject("natsUrl"), the run's shared cluster.
import type {} from "../../server/src/testing/nats-global-setup.js";
import { startTestApp, type TestApp } from "../../server/src/testing/test-app.js";
import { runSuite } from "../src/runner/run-suite.js";
import type { SuiteReport } from "../src/runner/report.js";

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the cross-server conformance cases against two reference servers: ${unavailable}`);

const failures = (r: SuiteReport) => r.results.filter((c) => c.status !== "passed").map((c) => `${c.status} ${c.id}: ${c.message ?? ""}`).join("\n");

describe.skipIf(unavailable !== undefined)("two reference servers on one JetStream cluster pass the cross-server cases", () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const store = inject("natsUrl");
    [a, b] = await Promise.all([startTestApp({ store, sandboxBackend: "process" }), startTestApp({ store, sandboxBackend: "process" })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    it(`over ${protocol}, --target A --target B`, { timeout: 90_000 }, async () => {
      const report = await runSuite({ target: a.url, otherTarget: b.url, token: a.adminToken, protocol, profile: ["cross-server"], concurrency: 4 });
      const what = `over ${protocol}, seed ${report.seed}\n${failures(report)}`;
      expect(report.results.map((r) => r.requirement).sort(), what).toEqual(["SBX-17", "SEC-18", "SESS-23", "SESS-23", "SESS-24", "SESS-25"]);
      expect(report.summary.passed, what).toBe(6);
      expect(report.exitCode, what).toBe(0);
      expect(report.otherTarget).toBe(b.url);
    });
  }

  it("with one target, the cross-server cases are skipped with the reason, and the run passes", async () => {
    const report = await runSuite({ target: a.url, token: a.adminToken, profile: ["cross-server"] });
    expect(report.summary.skipped).toBe(6);
    expect(report.results.every((r) => r.status === "skipped" && /--target A --target B/.test(r.message ?? ""))).toBe(true);
    expect(report.skippedFamilies).toEqual([expect.objectContaining({ name: "two-targets", cases: 6 })]);
    expect(report.exitCode).toBe(0);
  });
});
