import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SmallFilesystem, smallFilesystemUnavailable } from "./small-filesystem.js";

const unavailable = smallFilesystemUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the small filesystem's unmount test: ${unavailable}`);
const mounted = (path: string) => readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === path);

describe.skipIf(unavailable !== undefined)("a small filesystem", () => {
  it("unmounts while a process still works in it: it waits, then detaches it lazily and removes the mount point", async () => {
    const fs = await SmallFilesystem.mount(1024 * 1024);
    const holder = spawn("/bin/sleep", ["30"], { cwd: fs.path });
    try {
      expect(mounted(fs.path)).toBe(true);
      await fs.unmount(300);
      expect(mounted(fs.path)).toBe(false);
      expect(existsSync(fs.path)).toBe(false);
    } finally {
      holder.kill("SIGKILL");
      await once(holder, "exit");
    }
  });
});
