import { describe, expect, it } from "vitest";
import { backendsUnderTest } from "@oma/server/dist/sandbox/sandbox-test-support.js";
import { defaultConfig } from "./config.js";
import { formatReport } from "./report.js";
import { runChaos } from "./run-chaos.js";

// The short chaos run of `npm test`: a fixed seed, every fault kind at least once, real
// processes killed and paused, real sandboxes, a real full filesystem (as root). The long
// one is `npm run chaos -- --minutes 10`.
const available = backendsUnderTest().filter((b) => (b.name === "bubblewrap" || b.name === "docker") && b.available);
for (const b of backendsUnderTest()) if ((b.name === "bubblewrap" || b.name === "docker") && !b.available) console.warn(`!!! chaos run without ${b.name}: ${b.why}`);
if (process.getuid?.() !== 0) console.warn("!!! SKIPPED the disk-full fault of the chaos run: mounting a small filesystem needs root");

describe.skipIf(available.length === 0)("chaos under load (short, fixed seed)", () => {
  it("every session ends its turns, each tool once, every log gapless with every acknowledged event, nothing left behind, memory bounded", async () => {
    const report = await runChaos({ ...defaultConfig, seed: 20_261_130, durationMs: 45_000, sessions: 10, backends: available.map((b) => b.name) }, (line) =>
      console.log(`[chaos] ${line}`),
    );
    for (const line of formatReport(report)) console.log(`[chaos] ${line}`);
    expect(report.breaches).toEqual([]);
    // Every kind of fault struck (or said why it could not, e.g. disk-full without root).
    const struck = new Set(report.recoveries.map((r) => r.fault.kind));
    expect([...struck].sort()).toEqual([...defaultConfig.faults].sort());
    expect(report.turns).toBeGreaterThanOrEqual(10);
  }, 240_000);
});
