import { existsSync } from "node:fs";
import { open, readFile, rm, rmdir, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { runCommand } from "./spawner.js";

const MKFS = "/usr/sbin/mkfs.ext4";
const MOUNT = "/usr/bin/mount";
const UMOUNT = "/usr/bin/umount";
/** The image beside the workspace, in the sandbox's own directory (never inside the workspace). */
const IMAGE_NAME = "disk.img";

/**
 * Whether this machine can give workspaces a disk of their own: root (mounting needs it),
 * mkfs.ext4 and loop devices. Without it disk_bytes is not enforced, and the server says so.
 */
export function workspaceDisksAvailable(): { available: boolean; detail: string } {
  if (process.getuid?.() !== 0) return { available: false, detail: "mounting a workspace disk needs root" };
  if (!existsSync(MKFS)) return { available: false, detail: `${MKFS} not found (Debian e2fsprogs)` };
  if (!existsSync("/dev/loop-control")) return { available: false, detail: "no loop devices (/dev/loop-control)" };
  return { available: true, detail: "an ext4 image of disk_bytes, loop-mounted at the workspace" };
}

/**
 * Makes `workspaceDir` (empty) the mount point of a fresh ext4 filesystem of `bytes`: a
 * sparse image beside it, no journal, no reserved blocks, mounted nosuid,nodev through a
 * loop device that is released when it is unmounted. Whatever the sandbox writes there
 * fills that filesystem, never the host's: a full disk is ENOSPC inside the sandbox alone.
 */
export async function mountWorkspaceDisk(workspaceDir: string, bytes: number): Promise<void> {
  const image = join(dirname(workspaceDir), IMAGE_NAME);
  const file = await open(image, "wx", 0o600);
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
  try {
    // Through the spawner: a fork of this process would block its event loop.
    await runCommand(MKFS, ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard", image], 60_000);
    await runCommand(MOUNT, ["-o", "loop,nosuid,nodev", image, workspaceDir], 60_000);
    await rmdir(join(workspaceDir, "lost+found")).catch(() => undefined);
  } catch (err) {
    await unmountUnder(dirname(workspaceDir));
    await unlink(image).catch(() => undefined);
    const stderr = String((err as { stderr?: string }).stderr ?? "").trim();
    throw new Error(`the workspace disk could not be made: ${(stderr || (err as Error).message).slice(0, 300)}`, { cause: err });
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const info = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const points = info
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts every filesystem at or below `dir`. A lazy unmount (-l) when busy: the loop
 * device is then released as soon as the last process inside lets go of it.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await runCommand(UMOUNT, [point], 60_000).catch(() => runCommand(UMOUNT, ["-l", point], 60_000).catch(() => undefined));
  }
}

/** Removes a sandbox's directory on the host, its workspace disk first (unmounted, image deleted). */
export async function removeSandboxDir(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}
