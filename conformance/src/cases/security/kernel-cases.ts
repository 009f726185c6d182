import type { ConformanceCase, CaseContext } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";
import { bash, exec, withSandbox } from "../sandbox/sandbox-helpers.js";
import { KERNEL_ESCAPE_ATTEMPTS, KERNEL_ESCAPE_PROBE } from "./kernel-probe.js";

const MiB = 1024 * 1024;
/** The sandbox's bounds; the probe tries twice each. */
const limits = { diskBytes: 32 * MiB, pids: 48, memoryBytes: 96 * MiB };

/** Attempts that fail on `backend`, as "backend: attempt: what it got"; empty when all failed. */
async function runKernelBattery(ctx: CaseContext, backend: string, attempts: readonly string[]): Promise<string[]> {
  return withSandbox(
    ctx,
    async (sandboxId) => {
      const written = await exec(ctx, sandboxId, "write_file", { path: "kernel-probe.py", content: KERNEL_ESCAPE_PROBE });
      check(!written.isError, `write_file of the probe failed on ${backend}: ${written.output.slice(0, 200)}`);
      const res = await bash(ctx, sandboxId, `python3 kernel-probe.py ${limits.diskBytes} ${limits.pids} ${limits.memoryBytes} ${attempts.join(" ")}`, { timeoutSeconds: 120 });
      const lines = new Map(res.output.split("\n").filter((l) => l.startsWith("ATTEMPT ")).map((l) => [l.split(" ")[1]!, l]));
      return attempts.flatMap((a) => {
        const line = lines.get(a);
        if (line === undefined) return [`${backend}: ${a}: no answer from the probe (${res.output.slice(-200)})`];
        return line.includes(" FAILED ") ? [] : [`${backend}: ${line.slice("ATTEMPT ".length, 200)}`];
      });
    },
    { backend, diskBytes: BigInt(limits.diskBytes), pids: limits.pids, memoryBytes: BigInt(limits.memoryBytes) },
  );
}

export const kernelCases: ConformanceCase[] = [
  {
    id: "security/SEC-17/kernel-escape-attempts-fail",
    requirement: "SEC-17",
    level: "MUST",
    feature: "sandbox.isolation",
    title: "from a sandbox of each isolated backend: no user namespace, mount, ptrace, keyring, BPF, perf event, raw socket, /proc/sys write, device node, setuid gain, and nothing past disk_bytes, pids or memory_bytes",
    timeoutMs: 300_000,
    // Alone, after the other cases: filling a disk and pushing processes and memory to
    // their limits on every backend loads the machine the target runs on, and the other
    // cases' bounds are not meant to absorb that.
    exclusive: true,
    async run(ctx) {
      const backends = ctx.info.sandboxBackends.filter((b) => b !== "process");
      check(backends.length > 0, "the target claims sandbox.isolation but offers no isolated backend");
      // Writing past disk_bytes is SBX-16's, asked only of a target that claims sandbox.disk.
      const attempts = KERNEL_ESCAPE_ATTEMPTS.filter((a) => a !== "disk-past-limit" || ctx.info.features.includes("sandbox.disk"));
      ctx.note(`backends checked: ${backends.join(", ")}; attempts: ${attempts.length}`);
      // One backend after the other: the fork and memory attempts load the machine.
      const failures: string[] = [];
      for (const b of backends) failures.push(...(await runKernelBattery(ctx, b, attempts)));
      check(failures.length === 0, `attempts that succeeded: ${failures.join("; ")}`);
    },
  },
];
