import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { rmdir, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { cgroupParents, createSandboxCgroups, reapOwnCgroups, type SandboxCgroups } from "./cgroup-limits.js";

const LIMITS = { memoryBytes: 64 * 2 ** 20, pids: 32, cpu: 0.5 };
const instances: string[] = [];
const instance = () => {
  const id = `srv_${randomBytes(8).toString("hex")}`;
  instances.push(id);
  return id;
};
const sandbox = () => `sbx_${randomBytes(16).toString("hex")}`;

const probe = process.getuid?.() === 0 ? await createSandboxCgroups(instance(), sandbox(), LIMITS) : undefined;
await probe?.remove();
for (const parent of probe ? cgroupParents() : []) await rmdir(join(parent, instances[0]!)).catch(() => undefined);
if (!probe) console.warn("!!! SKIPPED the sandbox cgroup tests: the cgroup tree is not writable here (not root, or a read-only /sys/fs/cgroup)");

describe.skipIf(!probe)("sandbox cgroups", () => {
  const made: SandboxCgroups[] = [];
  afterAll(async () => {
    for (const c of made) await c.remove();
    for (const id of instances) for (const parent of cgroupParents()) await rmdir(join(parent, id)).catch(() => undefined);
  });

  it("are removed at the next start on the same data, however young, even one that held a process; another server's young ones stay", async () => {
    // What a server SIGKILLed between making a sandbox's cgroups and recording the sandbox leaves.
    const own = instance();
    const other = instance();
    const idle = (await createSandboxCgroups(own, sandbox(), LIMITS))!;
    const used = (await createSandboxCgroups(own, sandbox(), LIMITS))!;
    const neighbour = (await createSandboxCgroups(other, sandbox(), LIMITS))!;
    made.push(neighbour);
    const sleeper = spawn("/bin/sleep", ["60"], { stdio: "ignore" });
    for (const file of used.procsFiles) await writeFile(file, String(sleeper.pid));
    // Its processes die with the server (bwrap --die-with-parent); the kernel reaps them a moment later.
    sleeper.kill("SIGKILL");

    // At least: stale cgroups of other tests' killed servers may go too.
    expect(await reapOwnCgroups(own)).toBeGreaterThanOrEqual(2);

    for (const c of [idle, used]) for (const f of c.procsFiles) expect(existsSync(dirname(f)), dirname(f)).toBe(false);
    for (const f of neighbour.procsFiles) expect(existsSync(dirname(f)), dirname(f)).toBe(true);
    // Sandboxes of the old flat layout are in the parent itself; the new ones are one level down.
    for (const f of neighbour.procsFiles) expect(cgroupParents().some((p) => dirname(dirname(f)) === join(p, other))).toBe(true);
  });

  it("of a server killed and never started again on its data are removed by another server once a minute old and empty", async () => {
    const [own, dead, live] = [instance(), instance(), instance()];
    const old = (await createSandboxCgroups(dead, sandbox(), LIMITS))!;
    const busy = (await createSandboxCgroups(live, sandbox(), LIMITS))!;
    made.push(busy, old);
    const sleeper = spawn("/bin/sleep", ["60"], { stdio: "ignore" });
    try {
      for (const file of busy.procsFiles) await writeFile(file, String(sleeper.pid));
      const hourAgo = new Date(Date.now() - 3_600_000);
      for (const c of [old, busy]) for (const f of c.procsFiles) await utimes(dirname(f), hourAgo, hourAgo);
      expect(await reapOwnCgroups(own)).toBeGreaterThanOrEqual(1);
      for (const f of old.procsFiles) expect(existsSync(dirname(f)), dirname(f)).toBe(false);
      // An old cgroup that still holds a process is a live sandbox's: it stays.
      for (const f of busy.procsFiles) expect(existsSync(dirname(f)), dirname(f)).toBe(true);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});
