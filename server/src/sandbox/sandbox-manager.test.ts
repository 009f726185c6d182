import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClassicLevel } from "classic-level";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isOmaError } from "../errors/oma-error.js";
import { createLogger } from "../logger.js";
import { tempDir } from "../testing/temp-dir.js";
import { createProcessBackend } from "./process-backend.js";
import { SandboxManager } from "./sandbox-manager.js";
import { SandboxStore } from "./sandbox-store.js";
import type { SandboxBackend } from "./backend.js";
import { backendsUnderTest } from "./sandbox-test-support.js";

// The manager's own bounds, with the real process backend and LevelDB on disk.
const processBackend = backendsUnderTest().find((b) => b.name === "process")!;
if (!processBackend.available) console.warn(`!!! SKIPPED sandbox manager bounds because ${processBackend.why}`);

const access = { tenant: "t" };
const reasonOf = (p: Promise<unknown>) => p.then(() => "resolved", (e: unknown) => (isOmaError(e) ? e.reason : String(e)));

describe.skipIf(!processBackend.available)("SandboxManager bounds", () => {
  let dir: { path: string; remove(): Promise<void> };
  let db: ClassicLevel<string, Uint8Array>;
  let manager: SandboxManager;

  beforeEach(async () => {
    dir = await tempDir("oma-sbx-manager-");
    db = new ClassicLevel<string, Uint8Array>(join(dir.path, "db"), { valueEncoding: "view" });
    await db.open();
    const log = createLogger({ level: "silent" });
    manager = new SandboxManager({
      store: new SandboxStore(db),
      log,
      backends: new Map([["process", createProcessBackend(log)]]),
      defaultBackend: "process",
      maxOutputBytes: 1024,
      workspaceRoot: join(dir.path, "workspaces"),
      instanceId: "srv_test",
      bounds: { maxSandboxes: 2, maxConcurrentCalls: 2 },
    });
    await manager.open();
  });
  afterEach(async () => {
    for (const s of manager.list(access, "")) await manager.destroy(access, s.sandboxId);
    await manager.close();
    await db.close();
    await dir.remove();
  });

  it("Provision past the sandbox bound is LIMIT_REACHED; destroying one makes room", async () => {
    const a = await manager.provision(access, undefined, {}, "");
    await manager.provision(access, undefined, {}, "");
    expect(await reasonOf(manager.provision(access, undefined, {}, ""))).toBe("LIMIT_REACHED");
    await manager.destroy(access, a.sandboxId);
    expect((await manager.provision(access, undefined, {}, "")).state).toBeDefined();
  });

  it("a call past the per-sandbox concurrency bound is LIMIT_REACHED; the others finish", async () => {
    const s = await manager.provision(access, undefined, {}, "");
    const running = [1, 2].map(() => manager.execute(access, s.sandboxId, "bash", { command: "sleep 0.5; echo done" }, 10_000, ""));
    expect(await reasonOf(manager.execute(access, s.sandboxId, "bash", { command: "true" }, 10_000, ""))).toBe("LIMIT_REACHED");
    expect((await Promise.all(running)).map((r) => r.output)).toEqual(["done\n", "done\n"]);
    expect((await manager.execute(access, s.sandboxId, "bash", { command: "echo free" }, 10_000, "")).output).toBe("free\n");
  });
});

/** A step that waits until the test lets it go, and says when it has been reached. */
function gate(): { reached: Promise<void>; pass(): Promise<void>; open(): void } {
  let reach!: () => void, open!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const opened = new Promise<void>((r) => (open = r));
  return { reached, open, pass: () => (reach(), opened) };
}

// A Provision or a destroy whose RPC outlived the listener is still changing the workspace
// root when the server closes its parts: close waits for it, then removes the root.
describe.skipIf(!processBackend.available)("SandboxManager close with work under way", () => {
  let dir: { path: string; remove(): Promise<void> };
  let db: ClassicLevel<string, Uint8Array>;
  const root = () => join(dir.path, "workspaces");
  const managerWith = async (backend: SandboxBackend, bounds: { closeWaitMs?: number } = {}) => {
    const manager = new SandboxManager({ store: new SandboxStore(db), log: createLogger({ level: "silent" }), backends: new Map([["process", backend]]), defaultBackend: "process", maxOutputBytes: 1024, workspaceRoot: root(), instanceId: "srv_test", bounds });
    await manager.open();
    return manager;
  };

  beforeEach(async () => {
    dir = await tempDir("oma-sbx-closing-");
    db = new ClassicLevel<string, Uint8Array>(join(dir.path, "db"), { valueEncoding: "view" });
    await db.open();
  });
  afterEach(async () => {
    await db.close();
    await dir.remove();
  });

  it("a Provision under way finishes before close, which then ends its sandbox and removes the root; a later one is BACKEND_UNAVAILABLE", async () => {
    const real = createProcessBackend(createLogger({ level: "silent" }));
    const creating = gate();
    const manager = await managerWith({ ...real, create: async (spec) => (await creating.pass(), real.create(spec)) });
    const provision = manager.provision(access, undefined, {}, "");
    await creating.reached;
    expect(existsSync(root())).toBe(true);
    const closed = manager.close();
    expect(await reasonOf(manager.provision(access, undefined, {}, ""))).toBe("BACKEND_UNAVAILABLE");
    creating.open();
    expect(await reasonOf(provision)).toBe("resolved");
    await closed;
    expect(existsSync(root())).toBe(false);
    expect(manager.list(access, "")).toEqual([]);
  });

  it("a destroy under way finishes before close removes the root", async () => {
    const real = createProcessBackend(createLogger({ level: "silent" }));
    const destroying = gate();
    const manager = await managerWith({
      ...real,
      create: async (spec) => {
        const env = await real.create(spec);
        return { ...env, destroy: async () => (await destroying.pass(), env.destroy()) };
      },
    });
    const sandbox = await manager.provision(access, undefined, {}, "");
    const destroyed = manager.destroy(access, sandbox.sandboxId);
    await destroying.reached;
    const closed = manager.close();
    destroying.open();
    await destroyed;
    await closed;
    expect(existsSync(root())).toBe(false);
  });

  it("waits at most closeWaitMs for a Provision that does not end", async () => {
    const real = createProcessBackend(createLogger({ level: "silent" }));
    const creating = gate();
    const manager = await managerWith({ ...real, create: async (spec) => (await creating.pass(), real.create(spec)) }, { closeWaitMs: 200 });
    const provision = manager.provision(access, undefined, {}, "");
    await creating.reached;
    const closed = manager.close().then(() => "closed");
    const late = new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5000));
    expect(await Promise.race([closed, late])).toBe("closed");
    // The Provision goes on after close; the test lets it end and removes what it made.
    creating.open();
    const made = await provision;
    await manager.destroy(access, made.sandboxId);
  });
});
