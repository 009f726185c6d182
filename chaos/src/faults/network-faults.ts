import { type Fault, sessionsOnWorker, sleep } from "./fault.js";

/** Cuts every watch stream of the workload; each must resume with no gap and no duplicate (SESS-12). */
export const dropWatches: Fault = async (ctx) => {
  const dropped = ctx.workload.dropWatches();
  return { detail: `dropped ${dropped} watch streams`, affected: [] };
};

/**
 * Cuts the workers behind the proxy off from the server: either a stall (bytes stop,
 * connections stay open, as in a partition) for a while, or a reset of every connection.
 */
export const cutWorker: Fault = async (ctx) => {
  const remote = ctx.system.workers().filter((w) => !w.local);
  const affected = (await Promise.all(remote.map((w) => sessionsOnWorker(ctx, w.workerId)))).flat();
  if (ctx.random.chance(0.5)) {
    const connections = ctx.system.proxy.connections;
    ctx.system.proxy.reset();
    return { detail: `reset ${connections} proxied connections`, affected };
  }
  const ms = ctx.random.int(500, ctx.config.leaseTtlMs * 2);
  ctx.system.proxy.stall();
  await sleep(ms);
  ctx.system.proxy.resume();
  return { detail: `stalled the proxy for ${ms} ms`, affected };
};
