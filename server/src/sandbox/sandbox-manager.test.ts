import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClassicLevel } from "classic-level";
import { join } from "node:path";
import { isOmaError } from "../errors/oma-error.js";
import { createLogger } from "../logger.js";
import { tempDir } from "../testing/temp-dir.js";
import { createProcessBackend } from "./process-backend.js";
import { SandboxManager } from "./sandbox-manager.js";
import { SandboxStore } from "./sandbox-store.js";
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
