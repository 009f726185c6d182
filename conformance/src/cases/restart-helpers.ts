import type { CaseContext } from "../runner/case.js";

/** What every case that restarts the target shares: it runs alone, after all others. */
export const restart = { level: "MUST", needs: ["restart"], exclusive: true, timeoutMs: 90_000 } as const;

/** Retries a call while the restarted target comes back (bounded). */
export async function whenBack<T>(ctx: CaseContext, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ctx.scaled(30_000);
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if ((err as { codeName?: string }).codeName !== "UNAVAILABLE" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

