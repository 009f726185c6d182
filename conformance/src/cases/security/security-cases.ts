import type { ConformanceCase, CaseContext } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";
import { bash, withSandbox } from "../sandbox/sandbox-helpers.js";
import { probes } from "./secret-battery.js";

/** The backends whose sandboxes must pass the battery: every offered one but `process` (SEC-2). */
function isolatedBackends(ctx: CaseContext): string[] {
  return ctx.info.sandboxBackends.filter((b) => b !== "process");
}

/** The battery's failures on `backend`, observed once per run for both SEC-1 and SEC-2. */
const battery = (ctx: CaseContext, backend: string): Promise<string[]> => ctx.once(`secret-battery:${backend}`, () => runBattery(ctx, backend));

async function runBattery(ctx: CaseContext, backend: string): Promise<string[]> {
  const secret = ctx.secret!;
  const target = new URL(ctx.targetUrl);
  const failures: string[] = [];
  await withSandbox(
    ctx,
    async (sandboxId) => {
      for (const probe of probes) {
        const command = probe.command({ secret, serverHost: target.hostname, serverPort: Number(target.port || 80), dataDir: ctx.dataDir });
        const res = await bash(ctx, sandboxId, command, { timeoutSeconds: 60 });
        const output = res.output;
        if (output.includes(secret)) failures.push(`${backend}: ${probe.name}: the secret appeared in the output`);
        const reached = output.split("\n").filter((l) => l.startsWith("REACHED"));
        if (reached.length) failures.push(`${backend}: ${probe.name}: ${reached.slice(0, 3).join(", ")}`);
      }
    },
    { backend },
  );
  return failures;
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
      const failures = (await Promise.all(backends.map((b) => battery(ctx, b)))).flat().filter((f) => f.includes("secret appeared"));
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
      const failures = (await Promise.all(backends.map((b) => battery(ctx, b)))).flat();
      check(failures.length === 0, failures.join("; "));
    },
  },
];
