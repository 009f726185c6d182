import { afterEach, describe, expect, it, vi } from "vitest";
import { pairedRatio, percentile, printTable } from "./report.js";

describe("pairedRatio", () => {
  it("is the median of the ratios of samples taken side by side", () => {
    expect(pairedRatio([10, 20, 30], [10, 10, 10])).toBe(2);
    expect(pairedRatio([9, 18, 50], [10, 20, 25])).toBeCloseTo(0.9);
  });

  it("sees through a change of the host's speed that decides a ratio of pooled medians", () => {
    // b is 5 % slower than a in each pair; the host is fast (10) for two pairs, slow (20) for
    // two, and changes during the last pair. The pooled medians come from different spells.
    const a = [10, 10, 20, 20, 20];
    const b = [10.5, 10.5, 21, 21, 10.5];
    const pooled = percentile(a, 50) / percentile(b, 50);
    expect(pooled).toBeCloseTo(20 / 10.5);
    expect(pairedRatio(a, b)).toBeCloseTo(1 / 1.05);
  });

  it("refuses samples that are not pairs", () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(/2 samples against 1/);
  });
});

describe("printTable", () => {
  afterEach(() => vi.restoreAllMocks());

  const printed = (rows: Parameters<typeof printTable>[1]): string => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    printTable("t", rows);
    return lines.join("\n");
  };

  it("judges a goal on the paired ratio when there is one, and prints both ratios", () => {
    const out = printed([{ what: "rate", value: 90, unit: "ev/s", limit: { what: "off", value: 100 }, pairedRatio: 0.97, goal: { atLeast: 0.95 } }]);
    expect(out).toContain("ratio 0.900, paired 0.970 (goal paired >= 0.95: met)");
  });

  it("judges a goal on the ratio of the figures without a paired ratio", () => {
    const out = printed([{ what: "rate", value: 90, unit: "ev/s", limit: { what: "off", value: 100 }, goal: { atLeast: 0.95 } }]);
    expect(out).toContain("ratio 0.900 (goal >= 0.95: NOT met)");
    expect(out).not.toContain("paired");
  });
});
