import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Why a small filesystem cannot be mounted here, or undefined when it can (root, Linux). */
export function smallFilesystemUnavailable(): string | undefined {
  if (process.platform !== "linux") return "a tmpfs mount needs Linux";
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  return undefined;
}

/**
 * A size-limited tmpfs mounted on a fresh temp directory (or a given one), so that "the disk is full" is a
 * real ENOSPC from the kernel, not a simulated error. `fill()` takes every free byte with
 * a filler file, `free()` gives them back, `unmount()` removes the whole thing.
 */
export class SmallFilesystem {
  readonly path: string;
  readonly #filler: string;

  private constructor(path: string) {
    this.path = path;
    this.#filler = join(path, "filler");
  }

  /** Mounts `bytes` of tmpfs at `at` (made if missing), or at a fresh temp directory. */
  static async mount(bytes: number, at?: string): Promise<SmallFilesystem> {
    const reason = smallFilesystemUnavailable();
    if (reason) throw new Error(reason);
    const path = at ?? (await mkdtemp(join(tmpdir(), "oma-small-fs-")));
    await mkdir(path, { recursive: true });
    try {
      await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0755`, "tmpfs", path]);
    } catch (err) {
      await rm(path, { recursive: true, force: true });
      throw err;
    }
    return new SmallFilesystem(path);
  }

  /** Takes every free byte: the next write on this filesystem fails with ENOSPC. */
  async fill(): Promise<void> {
    const file = await open(this.#filler, "a");
    try {
      for (let size = 1 << 20; size >= 512; size >>= 1) {
        const chunk = Buffer.alloc(size);
        for (;;) {
          try {
            await file.write(chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
            throw err;
          }
        }
      }
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  /** Gives the filler's space back. */
  async free(): Promise<void> {
    await unlink(this.#filler).catch(() => undefined);
  }

  /**
   * Unmounts and removes the mount point. While the last processes let go of it (a server's
   * sandboxes end after it does) it retries for up to `busyWaitMs`, then detaches it lazily:
   * it goes when they do. A process that never lets go is a leftover of its own, found as such.
   */
  async unmount(busyWaitMs = 30_000): Promise<void> {
    const deadline = Date.now() + busyWaitMs;
    for (;;) {
      try {
        await run("umount", [this.path]);
        break;
      } catch {
        if (Date.now() >= deadline) {
          await run("umount", ["--lazy", this.path]);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await rm(this.path, { recursive: true, force: true });
  }
}
