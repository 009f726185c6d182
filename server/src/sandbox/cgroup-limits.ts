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
 * `<OMA_CGROUP_PARENT, default oma>/<server instance>/<sandbox id>` (v2 unified or v1
 * per-controller). The server instance names one data directory, which one server holds at
 * a time: so a server that starts may remove every empty cgroup under its own instance,
 * however young (reapOwnCgroups). Rlimits cannot do this: the process-count rlimit does not
 * bind root and counts per user, not per sandbox.
 * Returns undefined when the cgroup tree is not writable (not root, read-only mount).
 */
export async function createSandboxCgroups(serverInstance: string, sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups | undefined> {
  try {
    if (existsSync(join(ROOT, "cgroup.controllers"))) return await createV2(serverInstance, sandboxId, limits);
    if (existsSync(join(ROOT, "memory")) && existsSync(join(ROOT, "pids"))) return await createV1(serverInstance, sandboxId, limits);
  } catch {
    return undefined;
  }
  return undefined;
}

async function createV1(serverInstance: string, sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups> {
  const parent = cgroupParentName();
  const dirs = {
    memory: join(ROOT, "memory", parent, serverInstance, sandboxId),
    pids: join(ROOT, "pids", parent, serverInstance, sandboxId),
    cpu: join(ROOT, "cpu", parent, serverInstance, sandboxId),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  await writeFile(join(dirs.memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
  await writeFile(join(dirs.memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes)).catch(() => undefined);
  await writeFile(join(dirs.pids, "pids.max"), String(limits.pids));
  await writeFile(join(dirs.cpu, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
  await writeFile(join(dirs.cpu, "cpu.cfs_quota_us"), String(Math.round(limits.cpu * CPU_PERIOD_US)));
  return {
    procsFiles: Object.values(dirs).map((d) => join(d, "cgroup.procs")),
    remove: async () => void (await removeDirs(Object.values(dirs))),
  };
}

async function createV2(serverInstance: string, sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroups> {
  const parent = join(ROOT, cgroupParentName());
  const instance = join(parent, serverInstance);
  const dir = join(instance, sandboxId);
  // The whole path first: another server tidying an old, empty instance directory cannot
  // remove it once the sandbox's own directory is in it (rmdir of a non-empty cgroup fails).
  await mkdir(dir, { recursive: true });
  await writeFile(join(ROOT, "cgroup.subtree_control"), "+memory +pids +cpu").catch(() => undefined);
  await writeFile(join(parent, "cgroup.subtree_control"), "+memory +pids +cpu");
  await writeFile(join(instance, "cgroup.subtree_control"), "+memory +pids +cpu");
  await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
  await writeFile(join(dir, "memory.swap.max"), "0").catch(() => undefined);
  await writeFile(join(dir, "pids.max"), String(limits.pids));
  await writeFile(join(dir, "cpu.max"), `${Math.round(limits.cpu * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
  return { procsFiles: [join(dir, "cgroup.procs")], remove: async () => void (await removeDirs([dir])) };
}

/** Another instance's empty directory, or a sandbox cgroup of the old flat layout, older than this is removed at start-up. */
const STALE_CGROUP_MS = 60_000;
/** How long removal keeps retrying while the last processes of a sandbox are reaped. */
const REMOVE_ATTEMPTS = 100;
const REMOVE_INTERVAL_MS = 100;

/**
 * At a server's start, removes the sandbox cgroups its data directory's previous server left
 * (a SIGKILLed server cannot clean up, and it may die after making a sandbox's cgroups and
 * before recording the sandbox). Every cgroup under the server's own instance goes, whatever
 * its age: nothing else makes cgroups there. Their processes died with that server (bwrap
 * --die-with-parent); removal waits, bounded, while the kernel reaps them. Elsewhere under
 * the parent only what is over a minute old and empty goes: other instances' sandbox cgroups
 * (a server killed and never started again on its data leaves them), their directories, and
 * cgroups of the old flat layout (`<parent>/<sandbox id>`).
 * Returns how many sandboxes' cgroups were removed.
 */
export async function reapOwnCgroups(serverInstance: string): Promise<number> {
  const removed = new Set<string>();
  await Promise.all(
    cgroupParents().map(async (parent) => {
      const own = join(parent, serverInstance);
      const sandboxes = (await readdir(own).catch(() => [] as string[])).filter((name) => name.startsWith("sbx_"));
      await Promise.all(sandboxes.map(async (name) => {
        if (await removeDirs([join(own, name)])) removed.add(name);
      }));
      // Other instances: their old, empty sandbox cgroups (a server killed and never started
      // again on its data leaves them), then their directories once empty. A live sandbox's
      // cgroup holds its processes, and removing a cgroup that has any fails.
      for (const name of await readdir(parent).catch(() => [] as string[])) {
        if (name === serverInstance) continue;
        if (name.startsWith("srv_")) {
          for (const child of await readdir(join(parent, name)).catch(() => [] as string[])) {
            if (child.startsWith("sbx_") && (await removeIfStale(join(parent, name, child)))) removed.add(child);
          }
          await removeIfStale(join(parent, name));
        } else if (name.startsWith("sbx_") && (await removeIfStale(join(parent, name)))) removed.add(name);
      }
    }),
  );
  return removed.size;
}

/** Removes an empty cgroup last changed over a minute ago; whether it did. */
async function removeIfStale(dir: string): Promise<boolean> {
  const age = Date.now() - (await stat(dir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
  return age >= STALE_CGROUP_MS && (await rmdir(dir).then(() => true, () => false));
}

/**
 * A cgroup can be removed once its processes are gone; they may take a moment to be reaped.
 * Returns whether every directory is gone.
 */
async function removeDirs(dirs: readonly string[]): Promise<boolean> {
  let all = true;
  for (const dir of dirs) {
    let gone = false;
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS && !gone; attempt++) {
      try {
        await rmdir(dir);
        gone = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") gone = true;
        else await new Promise((r) => setTimeout(r, REMOVE_INTERVAL_MS));
      }
    }
    all &&= gone;
  }
  return all;
}
