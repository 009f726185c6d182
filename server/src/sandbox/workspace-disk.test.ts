import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcRejection as rejection } from "../testing/rpc-rejection.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { LABEL_SANDBOX } from "./docker-backend.js";
import { announceSkips, backendsUnderTest, bash } from "./sandbox-test-support.js";
import { mountsUnder, workspaceDisksAvailable } from "./workspace-disk.js";

// SBX-16: disk_bytes is the size of the workspace's own filesystem on every isolating backend.
const disks = workspaceDisksAvailable();
if (!disks.available) console.warn(`!!! SKIPPED the workspace disk tests because ${disks.detail}`);
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("the workspace disk tests", backends);
const MiB = 1024 * 1024;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

describe.each(backends)("workspace disk on $name", (backend) => {
  it.skipIf(!backend.available || !disks.available)("SBX-16 the workspace holds disk_bytes and no more: a full disk is a clear tool error, the host is untouched, destroy leaves nothing", async () => {
    const c = app.client(SandboxService);
    const sandboxId = (await c.provision({ resources: { backend: backend.name, diskBytes: BigInt(24 * MiB) } })).sandbox!.sandboxId;
    const size = await bash(c, sandboxId, "df -B1 --output=size /workspace | tail -1");
    expect(Number(size.output.trim())).toBeGreaterThan(16 * MiB);
    expect(Number(size.output.trim())).toBeLessThanOrEqual(24 * MiB);
    const fill = await bash(c, sandboxId, "dd if=/dev/zero of=filler bs=64k count=768; s=$?; sync; exit $s");
    expect(fill.isError).toBe(true);
    expect(fill.output).toContain("No space left on device");
    const write = await c.execute({ sandboxId, name: "write_file", input: { path: "more.txt", content: "x".repeat(64 * 1024) } });
    expect(write.isError).toBe(true);
    expect(write.output).toContain("the sandbox's disk is full (resources.disk_bytes)");
    // The sandbox carries on: freeing space makes the disk usable again.
    expect((await bash(c, sandboxId, "rm filler && echo freed > note && cat note")).output).toBe("freed\n");

    const workspaceDir = (await mountsUnder("/")).find((p) => p.includes(sandboxId))!;
    expect(workspaceDir).toBeDefined();
    await c.destroySandbox({ sandboxId });
    expect(await mountsUnder(dirname(workspaceDir))).toEqual([]);
    expect(existsSync(dirname(workspaceDir))).toBe(false);
  });

  it.skipIf(!backend.available || !disks.available)("SBX-16 a writable root keeps its writes off the host's disk: in memory on bubblewrap and gvisor, refused on docker (runc writes it to the engine's storage)", async () => {
    const c = app.client(SandboxService);
    const req = { resources: { backend: backend.name, security: { writableRoot: true, runAsRoot: true } } };
    if (backend.name === "docker") {
      const refused = await rejection(c.provision(req));
      expect([refused.code, refused.reason, refused.field]).toEqual([Code.Unavailable, "BACKEND_UNAVAILABLE", "resources.security.writable_root"]);
      expect(refused.message).toContain("disk_bytes");
      return;
    }
    const sandboxId = (await c.provision(req)).sandbox!.sandboxId;
    try {
      const wrote = await bash(c, sandboxId, `python3 -c "open('/oma-root-probe', 'wb').write(b'x' * 1048576); print(open('/proc/self/mounts').read())"`);
      expect(wrote.isError).toBe(false);
      if (backend.name === "bubblewrap") {
        // bwrap's root is a tmpfs of the sandbox's own.
        expect(wrote.output.split("\n").find((line) => line.split(" ")[1] === "/")?.split(" ")[2]).toBe("tmpfs");
      } else {
        // gVisor: the container layer on the host (where runc would have written it) holds nothing.
        const container = execFileSync("docker", ["ps", "-q", "--no-trunc", "--filter", `label=${LABEL_SANDBOX}=${sandboxId}`], { encoding: "utf8" }).trim();
        const upper = execFileSync("docker", ["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", container], { encoding: "utf8" }).trim();
        expect(existsSync(upper)).toBe(true);
        expect(existsSync(join(upper, "oma-root-probe"))).toBe(false);
      }
    } finally {
      await c.destroySandbox({ sandboxId });
    }
  });
});
