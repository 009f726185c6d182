import { execFile } from "node:child_process";
import { readdir, readFile, readlink, rm, rmdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { LABEL_DATA_DIR } from "../sandbox/docker-backend.js";
import { cgroupParents } from "../sandbox/cgroup-limits.js";
import { mountsUnder, unmountUnder } from "../sandbox/workspace-disk.js";

const run = promisify(execFile);

/** What a run of tests (or of the chaos harness) may have left behind, all of it under one root. */
export interface Leftovers {
  readonly processes: readonly { readonly pid: number; readonly command: string }[];
  readonly containers: readonly { readonly id: string; readonly dataDir: string }[];
  readonly cgroups: readonly string[];
  /** Filesystems still mounted under the root (a sandbox's workspace disk). */
  readonly mounts: readonly string[];
  readonly paths: readonly string[];
  /** What each left directory holds (two levels, a few names), so a report says whose it was. */
  readonly holds: Readonly<Record<string, readonly string[]>>;
}

export interface LeftoverScope {
  /**
   * The run's own temp root: every temp dir, data dir and sandbox workspace of the run is
   * under it (TMPDIR points there), so its processes name it in their environment,
   * arguments or working directory and its containers in their data-dir label.
   */
  readonly root: string;
  /** The cgroup parent the run's sandboxes used (OMA_CGROUP_PARENT), if it was its own. */
  readonly cgroupParent?: string;
  /** Paths under the root that are expected to be there (a data directory the caller removes itself). */
  readonly expected?: readonly string[];
}

/** Everything still alive or present that belongs to the scope; other runs' leftovers are not counted. */
export async function findLeftovers(scope: LeftoverScope): Promise<Leftovers> {
  const [processes, containers, cgroups, mounts, paths] = await Promise.all([
    processesUnder(scope.root),
    containersUnder(scope.root),
    scope.cgroupParent ? cgroupsUnder(scope.cgroupParent) : Promise.resolve([]),
    mountsUnder(scope.root),
    readdir(scope.root).then(
      (names) => names.map((n) => join(scope.root, n)).filter((p) => !scope.expected?.includes(p)),
      () => [] as string[],
    ),
  ]);
  const holds: Record<string, string[]> = {};
  for (const path of paths) holds[path] = await namesIn(path);
  return { processes, containers, cgroups, mounts, paths, holds };
}

/** Up to HELD_NAMES names under a directory, two levels deep ("a", "a/b"); none for a file. */
async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    names.push(name);
    for (const child of await readdir(join(dir, name)).catch(() => [] as string[])) names.push(`${name}/${child}`);
    if (names.length >= HELD_NAMES) break;
  }
  return names.slice(0, HELD_NAMES);
}

const HELD_NAMES = 8;

/** Waits (bounded) for processes that are still exiting, then reports what is left. */
export async function settleLeftovers(scope: LeftoverScope, timeoutMs = 10_000): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await findLeftovers(scope);
    if (isClean(found) || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function isClean(l: Leftovers): boolean {
  return l.processes.length + l.containers.length + l.cgroups.length + l.mounts.length + l.paths.length === 0;
}

/**
 * Removes what a run left (after it was reported): kills its processes, removes its
 * containers and cgroups, then its cgroup parent and its root. A leak must fail the run,
 * but must not keep running after it.
 */
export async function removeLeftovers(scope: LeftoverScope, l: Leftovers): Promise<void> {
  for (const p of l.processes) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  if (l.containers.length > 0) await run("docker", ["rm", "-f", ...l.containers.map((c) => c.id)], { timeout: 60_000 }).catch(() => undefined);
  for (const dir of l.cgroups) {
    // A cgroup goes once its last process is reaped, which takes a moment after a SIGKILL.
    for (let attempt = 0; attempt < 50 && existsSync(dir); attempt++) await rmdir(dir).catch(() => new Promise((r) => setTimeout(r, 100)));
  }
  if (scope.cgroupParent) await removeCgroupParent(scope.cgroupParent);
  await unmountUnder(scope.root);
  await rm(scope.root, { recursive: true, force: true });
}

/** Removes a run's own (empty) cgroup parent, v1 or v2, with the (empty) server-instance directories in it. */
export async function removeCgroupParent(name: string): Promise<void> {
  for (const dir of cgroupParents(name)) {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await rmdir(join(dir, entry.name)).catch(() => undefined);
    }
    await rmdir(dir).catch(() => undefined);
  }
}

/** One line per leftover, for a failure message. */
export function describeLeftovers(l: Leftovers): string[] {
  return [
    ...l.processes.map((p) => `process ${p.pid}: ${p.command.slice(0, 200)}`),
    ...l.containers.map((c) => `container ${c.id} (data dir ${c.dataDir})`),
    ...l.cgroups.map((c) => `cgroup ${c}`),
    ...l.mounts.map((m) => `mount ${m}`),
    ...l.paths.map((p) => `path ${p}${l.holds[p]?.length ? ` (holds ${l.holds[p]!.join(", ")})` : ""}`),
  ];
}

async function processesUnder(root: string): Promise<{ pid: number; command: string }[]> {
  const found: { pid: number; command: string }[] = [];
  for (const name of await readdir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue; // exited, waiting to be reaped
      const [cmdline, environ, cwd] = await Promise.all([
        readFile(`/proc/${pid}/cmdline`, "utf8"),
        readFile(`/proc/${pid}/environ`, "utf8").catch(() => ""),
        readlink(`/proc/${pid}/cwd`).catch(() => ""),
      ]);
      const mentions = (text: string) => text.split("\0").some((part) => part.includes(root));
      if (mentions(cmdline) || mentions(environ) || cwd.startsWith(root)) found.push({ pid, command: cmdline.split("\0").join(" ").trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function containersUnder(root: string): Promise<{ id: string; dataDir: string }[]> {
  try {
    const { stdout } = await run("docker", ["ps", "-a", "--filter", `label=${LABEL_DATA_DIR}`, "--format", `{{.ID}}\t{{.Label "${LABEL_DATA_DIR}"}}`], { timeout: 20_000 });
    return stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [id, dataDir] = line.split("\t");
        return { id: id ?? "", dataDir: dataDir ?? "" };
      })
      .filter((c) => c.dataDir.startsWith(root));
  } catch {
    return []; // no docker here: nothing can have been left in it
  }
}

/** Sandbox cgroups (`sbx_…`) under the parent, in any server instance's directory or directly in it. */
async function cgroupsUnder(parent: string): Promise<string[]> {
  const found: string[] = [];
  const subdirs = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  for (const dir of cgroupParents(parent)) {
    for (const child of await subdirs(dir)) {
      if (basename(child).startsWith("sbx_")) found.push(child);
      else found.push(...(await subdirs(child)));
    }
  }
  return found;
}
