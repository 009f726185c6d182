/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line
 * is a `# HELP`, a `# TYPE` or a sample of a declared family (with the suffixes its type
 * allows); label values are unescaped; anything else throws. (The one parser package on
 * the registry drops the labels, sums and counts of histograms, so it cannot check ours.)
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const SUFFIXES: Record<string, readonly string[]> = {
  counter: ["", "_total"],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  text.split("\n").forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
      if (!m) return; // a plain comment
      const f = family(m[2]!);
      if (m[1] === "HELP") (f as { help: string }).help = m[3]!;
      else if (m[3]! in SUFFIXES) (f as { type: string }).type = m[3]!;
      else fail("unknown type");
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) return fail("not a sample");
    const [, name = "", labelText = "", valueText = ""] = m;
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : valueText === "NaN" ? NaN : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") fail("bad value");
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest !== "") {
      const l = LABEL.exec(rest);
      if (!l) return fail("bad labels");
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const owner = [...families.values()].find((f) => SUFFIXES[f.type]!.some((s) => f.name + s === name));
    if (!owner) return fail("sample of no declared family");
    if (owner.type === "histogram" && name.endsWith("_bucket") && labels["le"] === undefined) fail("bucket without le");
    owner.samples.push({ name, labels, value });
  });
  return families;
}

/**
 * The sum of the samples of a family that carry every given label (0 when none does); for a
 * histogram, the sum of its `_count` samples.
 */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  if (!f) return 0;
  const wanted = f.type === "histogram" ? `${name}_count` : f.type === "counter" && !name.endsWith("_total") ? `${name}_total` : name;
  return f.samples
    .filter((s) => s.name === wanted && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
