import { describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "./prometheus-text.js";

describe("parsePrometheusText (the tests' reader of /metrics)", () => {
  const text = [
    "# HELP a_total Things.",
    "# TYPE a_total counter",
    'a_total{x="1",y="q\\"uote"} 3',
    'a_total{x="2"} 4',
    "# TYPE h histogram",
    'h_bucket{m="k",le="1"} 1',
    'h_bucket{m="k",le="+Inf"} 2',
    'h_sum{m="k"} 0.5',
    'h_count{m="k"} 2',
    "",
  ].join("\n");

  it("reads families, labels (unescaped) and histogram counts", () => {
    const families = parsePrometheusText(text);
    expect(families.get("a_total")!.help).toBe("Things.");
    expect(sampleValue(families, "a_total")).toBe(7);
    expect(sampleValue(families, "a_total", { y: 'q"uote' })).toBe(3);
    expect(sampleValue(families, "h", { m: "k" })).toBe(2);
    expect(sampleValue(families, "absent")).toBe(0);
  });

  it("throws on a sample of no declared family, a bad label set or a bucket without le", () => {
    expect(() => parsePrometheusText("stray 1\n")).toThrow(/no declared family/);
    expect(() => parsePrometheusText('# TYPE g gauge\ng{x=1} 1\n')).toThrow(/bad labels/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{m="k"} 1\n')).toThrow(/without le/);
    expect(() => parsePrometheusText("# TYPE g gauge\ng one\n")).toThrow(/bad value/);
  });
});
