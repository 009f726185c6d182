import { FAULT_KINDS, type ChaosConfig } from "./config.js";
import type { Breach, ToolCount } from "./invariants.js";
import type { Recovery } from "./monitor.js";

export interface ChaosReport {
  readonly config: ChaosConfig;
  readonly stallBoundMs: number;
  readonly recoveries: readonly Recovery[];
  readonly breaches: readonly Breach[];
  readonly turns: number;
  readonly stopReasons: Readonly<Record<string, number>>;
  readonly tools: ToolCount;
  readonly serverRestarts: number;
  readonly workerRestarts: number;
  readonly peakRssBytes: number;
  readonly longestStallMs: number;
  readonly wallMs: number;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const ms = (v: number | undefined) => (v === undefined ? "never" : `${(v / 1000).toFixed(1)} s`);

/** The table per fault kind, the run's figures, and every breach; returns the lines. */
export function formatReport(r: ChaosReport): string[] {
  const lines: string[] = [];
  lines.push(`chaos run: seed ${r.config.seed}, ${r.config.sessions} sessions on ${r.config.backends.join("+")}, ${(r.config.durationMs / 1000).toFixed(0)} s of faults, lease TTL ${r.config.leaseTtlMs} ms (replay: --seed ${r.config.seed})`);
  lines.push("");
  lines.push(`${pad("fault", 14)}${pad("injected", 10)}${pad("skipped", 9)}${pad("hit", 6)}${pad("recovery max", 14)}${pad("p50", 9)}detail of the last`);
  for (const kind of FAULT_KINDS) {
    const mine = r.recoveries.filter((x) => x.fault.kind === kind);
    if (mine.length === 0 && !r.config.faults.includes(kind)) continue;
    const ran = mine.filter((x) => !x.fault.skipped);
    const times = ran.map((x) => x.ms).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const never = ran.some((x) => x.ms === undefined);
    const last = mine.at(-1)?.fault;
    lines.push(
      `${pad(kind, 14)}${pad(ran.length, 10)}${pad(mine.length - ran.length, 9)}${pad(ran.reduce((n, x) => n + x.fault.affected.length, 0), 6)}` +
        `${pad(ran.length === 0 ? "-" : never ? "never" : ms(times.at(-1)), 14)}${pad(times.length === 0 ? "-" : ms(times[Math.floor((times.length - 1) / 2)]), 9)}${last?.skipped ? `skipped: ${last.skipped}` : (last?.detail ?? "")}`,
    );
  }
  lines.push("");
  lines.push(`turns ${r.turns}; stop reasons ${Object.entries(r.stopReasons).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push(`tools verified in their sandbox ${r.tools.toolsVerified}; sandboxes read ${r.tools.sandboxesRead}, lost ${r.tools.sandboxesLost}`);
  lines.push(`longest time without progress ${ms(r.longestStallMs)} (bound ${ms(r.stallBoundMs)} = lease TTL + rewake delay + worker reconnect or model timeout + allowance)`);
  lines.push(`server restarts ${r.serverRestarts}, worker restarts ${r.workerRestarts}; peak server RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB (bound ${(r.config.maxServerRssBytes / 2 ** 20).toFixed(0)} MiB)`);
  lines.push(`wall time ${ms(r.wallMs)}`);
  lines.push("");
  if (r.breaches.length === 0) lines.push("invariants: all held");
  else {
    lines.push(`invariants: ${r.breaches.length} BREACHES`);
    for (const b of r.breaches) lines.push(`  [${b.invariant}] ${b.detail}`);
  }
  return lines;
}
