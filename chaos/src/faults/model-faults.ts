import { type Fault, inFlight, sleep } from "./fault.js";

/** For a while the model answers 429, 529, 500 or not at all; brains retry with backoff and record each failure (HARN-12). */
export const modelErrors: Fault = async (ctx) => {
  const ms = ctx.random.int(1_000, 4_000);
  const before = ctx.system.script.faultsServed;
  ctx.system.script.faultFor(ms);
  await sleep(ms);
  return { detail: `model faults for ${ms} ms (${ctx.system.script.faultsServed - before} requests failed or hung)`, affected: inFlight(ctx) };
};
