import type { ConformanceCase, CaseContext } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";
import { withSandbox } from "../sandbox/sandbox-helpers.js";
import { runProbes, unfinished, type ProbeRun } from "./secret-battery.js";

/** The backends whose sandboxes must pass the battery: every offered one but `process` (SEC-2). */
function isolatedBackends(ctx: CaseContext): string[] {
  return ctx.info.sandboxBackends.filter((b) => b !== "process");
}

/** What the battery found on one backend; observed once per run for both SEC-1 and SEC-2. */
interface BatteryFindings {
  /** Probes whose output held the secret, or that found it in a file. */
  readonly leaks: string[];
  /** Other attempts that worked (a REACHED line). */
  readonly reached: string[];
  /** Probes killed at their timeout: attempts that neither leaked nor proved they could not. */
  readonly unfinished: string[];
}

const battery = (ctx: CaseContext, backend: string): Promise<BatteryFindings> => ctx.once(`secret-battery:${backend}`, () => runBattery(ctx, backend));

async function runBattery(ctx: CaseContext, backend: string): Promise<BatteryFindings> {
  const runs = await withSandbox(ctx, (sandboxId) => runProbes(ctx, sandboxId, ctx.secret!), { backend });
  const lines = (r: ProbeRun, found: (l: string) => boolean) => r.output.split("\n").filter(found).slice(0, 3);
  return {
    leaks: runs.flatMap((r) => [
      ...(r.output.includes(ctx.secret!) ? [`${backend}: ${r.probe.name}: the secret appeared in the output`] : []),
      ...lines(r, (l) => l.startsWith("REACHED-file")).map((l) => `${backend}: ${r.probe.name}: the secret is in a file: ${l}`),
    ]),
    reached: runs.flatMap((r) => {
      const reached = lines(r, (l) => l.startsWith("REACHED") && !l.startsWith("REACHED-file"));
      return reached.length ? [`${backend}: ${r.probe.name}: ${reached.join(", ")}`] : [];
    }),
    unfinished: unfinished(runs, backend),
  };
}

export const securityCases: ConformanceCase[] = [
  {
    id: "security/SEC-1/secret-never-reachable",
    requirement: "SEC-1",
    level: "MUST",
    feature: "sandbox.isolation",
    needs: ["secret"],
    title: "OMA_CONFORMANCE_SECRET of the target never appears in a sandbox: env, /proc, files, data dir, engine socket, network",
    timeoutMs: 240_000,
    async run(ctx) {
      const backends = isolatedBackends(ctx);
      check(backends.length > 0, "the target claims sandbox.isolation but offers no isolated backend");
      const failures = (await Promise.all(backends.map((b) => battery(ctx, b)))).flatMap((f) => [...f.leaks, ...f.unfinished]);
      check(failures.length === 0, failures.join("; "));
    },
  },
  {
    id: "security/SEC-2/every-attempt-fails",
    requirement: "SEC-2",
    level: "MUST",
    feature: "sandbox.isolation",
    needs: ["secret"],
    title: "every attempt of the battery fails from a sandbox of each isolated backend the target offers",
    timeoutMs: 240_000,
    async run(ctx) {
      const backends = isolatedBackends(ctx);
      ctx.note(`backends checked: ${backends.join(", ") || "none"}`);
      const failures = (await Promise.all(backends.map((b) => battery(ctx, b)))).flatMap((f) => [...f.leaks, ...f.reached, ...f.unfinished]);
      check(failures.length === 0, failures.join("; "));
    },
  },
];
