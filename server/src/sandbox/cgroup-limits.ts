import { existsSync } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";
/** cpu.cfs_period_us / cpu.max period used to express fractional CPUs. */
const CPU_PERIOD_US = 100_000;

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly pids: number;
  readonly cpu: number;
}

/** A sandbox's own cgroups; a process joins by writing its pid to every `procsFiles` entry. */
export interface SandboxCgroups {
  readonly procsFiles: readonly string[];
  remove(): Promise<void>;
}

/**
 * Memory, process-count and CPU limits for one bubblewrap sandbox, as cgroups under
 * `oma/<sandbox id>` (v2 unified or v1 per-controller). Rlimits cannot do this: the
 * process-count rlimit does not bind root and counts per user, not per sandbox.
 * Returns undefined when the cgroup tree is not writable (not root, read-only mount).
 */
export async function createSandboxCgroups(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups | undefined> {
  try {
    if (existsSync(join(ROOT, "cgroup.controllers"))) return await createV2(sandboxId, limits);
    if (existsSync(join(ROOT, "memory")) && existsSync(join(ROOT, "pids"))) return await createV1(sandboxId, limits);
  } catch {
    return undefined;
  }
  return undefined;
}

async function createV1(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups> {
  const dirs = {
    memory: join(ROOT, "memory", "oma", sandboxId),
    pids: join(ROOT, "pids", "oma", sandboxId),
    cpu: join(ROOT, "cpu", "oma", sandboxId),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  await writeFile(join(dirs.memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
  await writeFile(join(dirs.memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes)).catch(() => undefined);
  await writeFile(join(dirs.pids, "pids.max"), String(limits.pids));
  await writeFile(join(dirs.cpu, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
  await writeFile(join(dirs.cpu, "cpu.cfs_quota_us"), String(Math.round(limits.cpu * CPU_PERIOD_US)));
  return {
    procsFiles: Object.values(dirs).map((d) => join(d, "cgroup.procs")),
    remove: () => removeDirs(Object.values(dirs)),
  };
}

async function createV2(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups> {
  const parent = join(ROOT, "oma");
  await mkdir(parent, { recursive: true });
  await writeFile(join(ROOT, "cgroup.subtree_control"), "+memory +pids +cpu").catch(() => undefined);
  await writeFile(join(parent, "cgroup.subtree_control"), "+memory +pids +cpu");
  const dir = join(parent, sandboxId);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
  await writeFile(join(dir, "memory.swap.max"), "0").catch(() => undefined);
  await writeFile(join(dir, "pids.max"), String(limits.pids));
  await writeFile(join(dir, "cpu.max"), `${Math.round(limits.cpu * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
  return { procsFiles: [join(dir, "cgroup.procs")], remove: () => removeDirs([dir]) };
}

/** A cgroup can be removed once its processes are gone; they may take a moment to be reaped. */
async function removeDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}
