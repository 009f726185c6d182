/** Figures of a benchmark, printed beside the limit measured in the same run. */

/** The p-th percentile (0–100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * The median of the ratios a[i] / b[i] of samples taken side by side (pair i measured
 * back to back). A shared machine drifts between fast and slow spells; a ratio of pooled
 * percentiles moves with how the spells fell on each side, while each pair sees one spell.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`pairedRatio: ${a.length} samples against ${b.length}`);
  return percentile(a.map((x, i) => x / b[i]!), 50);
}

/** Milliseconds since the epoch to the microsecond, on the clock of the scripted model's `receivedAt`. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  return n.toFixed(digits);
}

export interface Row {
  readonly what: string;
  readonly value: number;
  readonly unit: string;
  /** The limit measured in the same run, and what it is. */
  readonly limit?: { readonly what: string; readonly value: number };
  /**
   * The same comparison as the median of paired samples' ratios (`pairedRatio`), printed
   * after the ratio of the figures; the goal is then judged on it.
   */
  readonly pairedRatio?: number;
  /** The goal as a ratio to the limit, e.g. { atLeast: 0.8 } or { atMost: 1.2 }, or an absolute goal. */
  readonly goal?: { readonly atLeast?: number; readonly atMost?: number; readonly text?: string };
}

/** Prints one table: figure, the limit beside it, their ratio and the goal. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  for (const r of rows) {
    let line = `  ${r.what.padEnd(52)} ${fmt(r.value).padStart(10)} ${r.unit}`;
    if (r.limit) {
      line += `   vs ${r.limit.what} ${fmt(r.limit.value)} ${r.unit}: ratio ${fmt(r.value / r.limit.value, 3)}`;
      if (r.pairedRatio !== undefined) line += `, paired ${fmt(r.pairedRatio, 3)}`;
      const ratio = r.pairedRatio ?? r.value / r.limit.value;
      const judged = r.pairedRatio === undefined ? "" : "paired ";
      if (r.goal?.atLeast !== undefined) line += ` (goal ${judged}>= ${r.goal.atLeast}: ${ratio >= r.goal.atLeast ? "met" : "NOT met"})`;
      if (r.goal?.atMost !== undefined) line += ` (goal ${judged}<= ${r.goal.atMost}: ${ratio <= r.goal.atMost ? "met" : "NOT met"})`;
    } else if (r.goal?.text) {
      line += `   (goal ${r.goal.text})`;
    }
    console.log(line);
  }
}

/**
 * Runs two operations alternately (a, b, a, b, …) so that both see the same machine: on a
 * shared machine the load drifts, and a limit measured minutes apart would skew the ratio.
 * Each operation returns its own sample (ms), e.g. a time measured where the work ran.
 */
export async function alternate(n: number, a: () => Promise<number>, b: () => Promise<number>, warmup = 2): Promise<[number[], number[]]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < n; i++) {
    sa.push(await a());
    sb.push(await b());
  }
  return [sa, sb];
}

/** `alternate` of two operations timed here, wall clock (ms). */
export function timePair(n: number, a: () => Promise<unknown>, b: () => Promise<unknown>, warmup = 2): Promise<[number[], number[]]> {
  return alternate(n, wallTime(a), wallTime(b), warmup);
}

function wallTime(op: () => Promise<unknown>): () => Promise<number> {
  return async () => {
    const t = performance.now();
    await op();
    return performance.now() - t;
  };
}
