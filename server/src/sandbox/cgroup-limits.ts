import { existsSync } from "node:fs";
import { mkdir, readdir, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";
/** v1 controllers a sandbox is limited by. */
const V1_CONTROLLERS = ["memory", "pids", "cpu"] as const;

/**
 * The cgroup under which sandboxes get theirs: `OMA_CGROUP_PARENT` (one path segment),
 * default `oma`. Two servers, or two test runs, on one host can keep separate trees.
 */
export function cgroupParentName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env["OMA_CGROUP_PARENT"] || "oma";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new Error(`OMA_CGROUP_PARENT must be one path segment of [A-Za-z0-9._-], got "${name}"`);
  return name;
}

/** The parent directories of the sandboxes' cgroups: one (v2), or one per controller (v1). */
export function cgroupParents(name = cgroupParentName()): string[] {
  return existsSync(join(ROOT, "cgroup.controllers")) ? [join(ROOT, name)] : V1_CONTROLLERS.map((c) => join(ROOT, c, name));
}
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
 * `<OMA_CGROUP_PARENT, default oma>/<sandbox id>` (v2 unified or v1 per-controller). Rlimits cannot do this: the
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
  const parent = cgroupParentName();
  const dirs = {
    memory: join(ROOT, "memory", parent, sandboxId),
    pids: join(ROOT, "pids", parent, sandboxId),
    cpu: join(ROOT, "cpu", parent, sandboxId),
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
  const parent = join(ROOT, cgroupParentName());
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

/** Leftover sandbox cgroups older than this (and empty) are removed at start-up. */
const STALE_CGROUP_MS = 60_000;
/** How long removal keeps retrying while the last processes of a sandbox are reaped. */
const REMOVE_ATTEMPTS = 100;
const REMOVE_INTERVAL_MS = 100;

/**
 * Removes empty sandbox cgroups left by servers that died (a SIGKILLed server cannot clean
 * up). Only old ones: a young empty one may belong to a sandbox another server is starting,
 * and a cgroup that still has processes cannot be removed at all.
 */
export async function removeStaleCgroups(): Promise<number> {
  let removed = 0;
  for (const parent of cgroupParents()) {
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      if (!name.startsWith("sbx_")) continue;
      const dir = join(parent, name);
      const age = Date.now() - (await stat(dir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age < STALE_CGROUP_MS) continue;
      if (await rmdir(dir).then(() => true, () => false)) removed++;
    }
  }
  return removed;
}

/** Removes the cgroups of one sandbox (its processes gone or going); a no-op when there are none. */
export async function removeSandboxCgroups(sandboxId: string): Promise<void> {
  await removeDirs(cgroupParents().map((parent) => join(parent, sandboxId)).filter((dir) => existsSync(dir)));
}

/** A cgroup can be removed once its processes are gone; they may take a moment to be reaped. */
async function removeDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
        await new Promise((r) => setTimeout(r, REMOVE_INTERVAL_MS));
      }
    }
  }
}
