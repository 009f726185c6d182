import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { describeLeftovers, removeLeftovers, settleLeftovers } from "@oma/server/dist/testing/leftovers.js";
import { stallBoundMs, type ChaosConfig, type FaultKind } from "./config.js";
import { faults } from "./faults/index.js";
import type { FaultRecord } from "./faults/fault.js";
import { checkLog, checkSettled, checkTools, readLog, type Breach, type ToolCount } from "./invariants.js";
import { Monitor } from "./monitor.js";
import { Random } from "./random.js";
import type { ChaosReport } from "./report.js";
import { System } from "./system.js";
import { Workload } from "./workload.js";

/**
 * One chaos run: start the system, run the workload while faults strike at random times
 * (every kind once, in a seeded order, then at random), stop the faults, let every session
 * finish its turn, then check every invariant and that nothing was left behind.
 */
export async function runChaos(config: ChaosConfig, log: (line: string) => void = () => undefined): Promise<ChaosReport> {
  const started = Date.now();
  const random = new Random(config.seed);
  const bound = stallBoundMs(config);
  const system = await System.start(config, random);
  const breaches: Breach[] = [];
  const label = { "chaos-run": system.runId };
  const workload = new Workload(() => clientNow, label);
  let clientNow = await system.client();
  const monitor = new Monitor({ client: () => system.client(), runs: workload.runs, outages: system.server.outages, label, boundMs: bound });
  workload.onProgress = (sessionId, at) => monitor.progress(sessionId, at);
  const tools: ToolCount = { sandboxesRead: 0, sandboxesLost: 0, toolsVerified: 0 };
  try {
    await workload.createSessions(config.sessions, config.backends, system.runId);
    const stopAt = Date.now() + config.durationMs;
    workload.start(stopAt);
    monitor.start();
    log(`run ${system.runId}: ${config.sessions} sessions started; faults for ${config.durationMs / 1000} s`);

    // Every kind once, in a seeded order, then at random, until the time is up (and every kind has struck).
    const order: FaultKind[] = random.shuffle(config.faults);
    for (let i = 0; Date.now() < stopAt || i < order.length; i++) {
      await new Promise((r) => setTimeout(r, random.int(config.faultGapMs[0], config.faultGapMs[1])));
      const kind = i < order.length ? order[i]! : random.pick(config.faults);
      const at = Date.now();
      const result = await faults[kind]({ system, workload, random, config });
      const record: FaultRecord = { kind, at, endedAt: Date.now(), ...result };
      monitor.track(record);
      log(`${((at - started) / 1000).toFixed(1)} s  ${kind}: ${record.skipped ? `skipped (${record.skipped})` : record.detail}`);
    }

    log("faults stopped; waiting for every session to end its turn");
    await system.server.ready();
    await workload.settle(Date.now() + bound * 3);
    monitor.stop();
    clientNow = await system.freshClient();
    const logs = new Map<string, Awaited<ReturnType<typeof readLog>>>();
    const leaseGoneBy = Date.now() + bound;
    for (const run of workload.runs) {
      const events = await readLog(clientNow, run.sessionId);
      logs.set(run.sessionId, events);
      breaches.push(...(await checkSettled(clientNow, run, events, leaseGoneBy)));
      await waitWatched(run, events.length);
      breaches.push(...checkLog(run, events));
    }
    breaches.push(...(await checkTools(clientNow, logs, tools)));
    for (const stall of monitor.stalls) breaches.push({ invariant: "liveness", detail: stall });
    for (const r of monitor.recoveries) {
      if (r.ms === undefined && !r.fault.skipped) breaches.push({ invariant: "liveness", detail: `after ${r.fault.kind} (${r.fault.detail}) ${[...r.pending].join(", ")} never made progress` });
    }
    const peak = Math.max(0, ...system.server.rssSamples.map((s) => s.bytes));
    if (peak > config.maxServerRssBytes) breaches.push({ invariant: "memory", detail: `a server reached ${(peak / 2 ** 20).toFixed(0)} MiB resident` });
    await destroySandboxes(clientNow);
  } finally {
    workload.close();
    monitor.stop();
    await system.stop();
  }
  const scope = { root: system.root, cgroupParent: system.cgroupParent, expected: [`${system.root}/data`] };
  const leftovers = await settleLeftovers(scope);
  for (const line of describeLeftovers(leftovers)) breaches.push({ invariant: "leaks", detail: line });
  await removeLeftovers(scope, leftovers);

  const stopReasons: Record<string, number> = {};
  for (const run of workload.runs) for (const r of run.stopReasons) stopReasons[StopReason[r]] = (stopReasons[StopReason[r]] ?? 0) + 1;
  return {
    config,
    stallBoundMs: bound,
    recoveries: monitor.recoveries,
    breaches,
    turns: workload.runs.reduce((n, r) => n + r.turns, 0),
    stopReasons,
    tools,
    serverRestarts: system.server.restarts,
    workerRestarts: system.remote.restarts,
    peakRssBytes: Math.max(0, ...system.server.rssSamples.map((s) => s.bytes)),
    longestStallMs: Math.max(0, ...monitor.longestStall.values()),
    wallMs: Date.now() - started,
  };
}

/** The watcher catches up with the log it is compared against (bounded). */
async function waitWatched(run: { watched: readonly unknown[] }, length: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (run.watched.length < length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Every sandbox the run's sessions provisioned, recorded or not (a brain may die between Provision and its record). */
async function destroySandboxes(client: Awaited<ReturnType<System["client"]>>): Promise<void> {
  for (;;) {
    const { sandboxes } = await client.sandboxes.listSandboxes({ pageSize: 1000 });
    if (sandboxes.length === 0) return;
    await Promise.all(sandboxes.map((s) => client.sandboxes.destroySandbox({ sandboxId: s.sandboxId }).catch(() => undefined)));
  }
}
