import { type Fault, inFlight, sessionsOnWorker, sleep } from "./fault.js";

/** SIGKILL of a worker process (local or behind the proxy); its brains die mid-step. */
export const killWorker: Fault = async (ctx) => {
  const workers = ctx.system.workers();
  if (workers.length === 0) return { detail: "no worker alive", affected: [] };
  const w = ctx.random.pick(workers);
  const affected = await sessionsOnWorker(ctx, w.workerId);
  process.kill(w.pid, "SIGKILL");
  return { detail: `SIGKILL ${w.local ? "local" : "remote"} worker ${w.workerId} (pid ${w.pid})`, affected };
};

/** SIGSTOP of a worker for a while, then SIGCONT: its brains may lose their leases meanwhile and must write nothing after. */
export const pauseWorker: Fault = async (ctx) => {
  const workers = ctx.system.workers();
  if (workers.length === 0) return { detail: "no worker alive", affected: [] };
  const w = ctx.random.pick(workers);
  const affected = await sessionsOnWorker(ctx, w.workerId);
  const ms = ctx.random.int(500, ctx.config.leaseTtlMs * 2);
  process.kill(w.pid, "SIGSTOP");
  await sleep(ms);
  try {
    process.kill(w.pid, "SIGCONT");
  } catch {
    // died meanwhile (another fault); its supervisor starts another
  }
  return { detail: `SIGSTOP ${w.local ? "local" : "remote"} worker ${w.workerId} for ${ms} ms`, affected };
};

/** SIGKILL of `oma serve` and a restart on the same data: every brain in flight must resume. */
export const killServer: Fault = async (ctx) => {
  await ctx.system.server.ready();
  const affected = inFlight(ctx);
  const pid = ctx.system.server.pid;
  await ctx.system.server.kill();
  return { detail: `SIGKILL server (pid ${pid}), restarted on the same data`, affected };
};

/** SIGSTOP of the server for a while: leases expire on the wall clock while it sleeps. */
export const pauseServer: Fault = async (ctx) => {
  await ctx.system.server.ready();
  const affected = inFlight(ctx);
  const ms = ctx.random.int(500, ctx.config.leaseTtlMs * 2);
  const outage = ctx.system.server.outage("paused");
  ctx.system.server.signal("SIGSTOP");
  await sleep(ms);
  ctx.system.server.signal("SIGCONT");
  outage.end();
  return { detail: `SIGSTOP server for ${ms} ms`, affected };
};
