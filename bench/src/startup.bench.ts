/**
 * How long OMA's processes take to start, beside a bare Node process started the same way
 * in the same rounds (the part no code of ours can save):
 *   `oma --help` (every CLI command pays at least this);
 *   loading the brain worker (`oma worker` before it connects; a dead brain's successor pays it);
 *   `oma serve` on a fresh data directory until it listens (LevelDB, backend probes, no workers).
 * Medians of rounds that rotate through all of them, so a drift of the host's load is shared.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CLI_PATH, startServerProcess } from "@oma/server/dist/testing/server-process.js";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { percentile, preciseNow, printTable } from "./report.js";

const ROUNDS = Number(process.env["OMA_BENCH_STARTUP_ROUNDS"] ?? 9);
const run = promisify(execFile);
const workerModule = fileURLToPath(import.meta.resolve("@oma/server/dist/harness/worker/worker.js"));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = preciseNow();
  await fn();
  return preciseNow() - t0;
}

const node = (args: string[]) => timed(() => run(process.execPath, args));
const kinds = {
  bare: () => node(["-e", ""]),
  help: () => node([CLI_PATH, "--help"]),
  worker: () => node(["--input-type=module", "-e", `await import(${JSON.stringify(workerModule)})`]),
  serve: async () => {
    const dir = await tempDir("oma-bench-startup-");
    try {
      const t0 = preciseNow();
      const server = await startServerProcess(dir.path, { args: ["--workers", "0", "--sandbox-backend", "process"], env: { OMA_LOG_LEVEL: "error" } });
      const ms = preciseNow() - t0;
      await server.stop();
      return ms;
    } finally {
      await dir.remove();
    }
  },
};
const samples: Record<keyof typeof kinds, number[]> = { bare: [], help: [], worker: [], serve: [] };
for (let round = 0; round <= ROUNDS; round++) {
  for (const [kind, measure] of Object.entries(kinds) as [keyof typeof kinds, () => Promise<number>][]) {
    const ms = await measure();
    if (round > 0) samples[kind].push(ms); // round 0 warms the file cache
  }
}
const p50 = (kind: keyof typeof kinds) => percentile(samples[kind], 50);
const bare = { what: "a bare node process", value: p50("bare") };
printTable(`Start-up (p50 of ${ROUNDS} rounds, each process started afresh)`, [
  { what: "node -e ''", value: p50("bare"), unit: "ms" },
  { what: "oma --help", value: p50("help"), unit: "ms", limit: bare },
  { what: "brain worker loaded (oma worker before it connects)", value: p50("worker"), unit: "ms", limit: bare },
  { what: "oma serve to listening (fresh data dir, no workers)", value: p50("serve"), unit: "ms", limit: bare },
]);
