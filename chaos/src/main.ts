#!/usr/bin/env node
// `npm run chaos -- [--seed N] [--minutes M] [--sessions N] [--backend docker,bubblewrap] [--faults a,b]`:
// one chaos run against real processes; prints a table per fault kind and exits 1 on any breach.
import { Command, InvalidArgumentError } from "commander";
import { defaultConfig, FAULT_KINDS, type ChaosConfig, type FaultKind } from "./config.js";
import { formatReport } from "./report.js";
import { runChaos } from "./run-chaos.js";

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
};
const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

const program = new Command("oma-chaos")
  .description("run OMA under load while processes, sandboxes, streams, the model and the disk fail, then check every invariant")
  .option("--seed <n>", "seed of every random choice (a failing run prints it; pass it to replay)", (v) => Math.floor(positive(v)), Math.floor(Math.random() * 1e9) + 1)
  .option("--minutes <m>", "how long faults are injected", positive, defaultConfig.durationMs / 60_000)
  .option("--sessions <n>", "sessions running turns at once", (v) => Math.floor(positive(v)), defaultConfig.sessions)
  .option("--backend <names>", "sandbox backends, round-robin over the sessions", list, [...defaultConfig.backends])
  .option("--faults <kinds>", `fault kinds (${FAULT_KINDS.join(", ")})`, list, [...FAULT_KINDS])
  .option("--lease-ttl-ms <ms>", "the server's lease TTL", (v) => Math.floor(positive(v)), defaultConfig.leaseTtlMs)
  .option("--workers <n>", "remote workers behind the TCP proxy (the server starts one local worker too)", (v) => Math.floor(positive(v)), defaultConfig.remoteWorkers)
  .action(async (flags: { seed: number; minutes: number; sessions: number; backend: string[]; faults: string[]; leaseTtlMs: number; workers: number }) => {
    const unknown = flags.faults.filter((f) => !FAULT_KINDS.includes(f as FaultKind));
    if (unknown.length > 0) throw new InvalidArgumentError(`unknown fault kinds: ${unknown.join(", ")}`);
    const config: ChaosConfig = {
      ...defaultConfig,
      seed: flags.seed,
      durationMs: Math.round(flags.minutes * 60_000),
      sessions: flags.sessions,
      backends: flags.backend,
      faults: flags.faults as FaultKind[],
      leaseTtlMs: flags.leaseTtlMs,
      remoteWorkers: flags.workers,
    };
    console.log(`oma-chaos: seed ${config.seed}`);
    const report = await runChaos(config, (line) => console.log(line));
    console.log("");
    for (const line of formatReport(report)) console.log(line);
    process.exit(report.breaches.length > 0 ? 1 : 0);
  });

await program.parseAsync();
