import { type Fault, inFlight, sleep } from "./fault.js";

/**
 * The data directory's filesystem fills up: writes fail with ENOSPC, the server answers
 * STORAGE_FULL and reports NOT_SERVING; the space comes back, and the supervisor restarts
 * the server, which resumes every session.
 */
export const diskFull: Fault = async (ctx) => {
  const fs = ctx.system.filesystem;
  if (!fs) return { detail: "", affected: [], skipped: ctx.system.noFilesystem ?? "no small filesystem" };
  const affected = inFlight(ctx);
  const ms = ctx.random.int(500, 3_000);
  await fs.fill();
  await sleep(ms);
  await fs.free();
  return { detail: `filled the data filesystem for ${ms} ms`, affected };
};
