import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../testing/temp-dir.js";
import type { SandboxEnvironment } from "./backend.js";
import { createProcessBackend } from "./process-backend.js";
import { backendsUnderTest } from "./sandbox-test-support.js";

const processBackend = backendsUnderTest().find((b) => b.name === "process")!;
if (!processBackend.available) console.warn(`!!! SKIPPED the process backend's warning because ${processBackend.why}`);

describe.skipIf(!processBackend.available)("process backend", () => {
  const envs: SandboxEnvironment[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const env of envs.splice(0)) await env.destroy();
  });

  it("warns that it isolates nothing at its first sandbox, then at most once a minute with the count", async () => {
    const lines: Array<{ msg: string; sandboxId: string; sandboxesSinceLastWarning: number }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString("utf8")));
        done();
      },
    });
    vi.useFakeTimers({ toFake: ["performance"] });
    const backend = createProcessBackend(pino({ level: "warn" }, sink));
    const dir = await tempDir("oma-process-backend-");
    const create = async (n: number) => {
      const workspaceDir = join(dir.path, `ws${n}`);
      await mkdir(workspaceDir);
      const sandboxId = `sbx_${String(n).padStart(32, "0")}`;
      envs.push(await backend.create({ sandboxId, serverInstance: "srv_test", workspaceDir, image: "", cpu: 1, memoryBytes: 512 * 2 ** 20, pids: 256, diskBytes: 2 ** 30, network: "none", env: {}, security: { runAsRoot: false, keepCapabilities: false, writableRoot: false, allowPrivilegeEscalation: false } }));
      return sandboxId;
    };
    try {
      const first = await create(1);
      await create(2);
      await create(3);
      vi.advanceTimersByTime(61_000);
      const fourth = await create(4);
      await new Promise((resolve) => sink.end(resolve));
      expect(lines.map((l) => [l.sandboxId, l.sandboxesSinceLastWarning])).toEqual([
        [first, 1],
        [fourth, 3],
      ]);
      expect(lines[0]!.msg).toContain("NO ISOLATION");
    } finally {
      await dir.remove();
    }
  });
});
