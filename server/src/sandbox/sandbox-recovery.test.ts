import { execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcRejection as rejection } from "../testing/rpc-rejection.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { tempDir } from "../testing/temp-dir.js";
import { mountsUnder, workspaceDisksAvailable } from "./workspace-disk.js";
import { announceSkips, backendsUnderTest, bash, startServer } from "./sandbox-test-support.js";
import { LABEL_DATA_DIR, LABEL_SANDBOX, LABEL_SERVER } from "./docker-backend.js";

// SBX-11 (a dead environment is SANDBOX_LOST) and SBX-15 (after a crash and restart every
// environment is re-attached or reaped; none leaks), with real SIGKILLs.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("sandbox recovery tests", backends);
const docker = backends.find((b) => b.name === "docker")!;
const bubblewrap = backends.find((b) => b.name === "bubblewrap")!;
const gvisor = backends.find((b) => b.name === "gvisor");


function containersOf(label: string): string[] {
  return execFileSync("docker", ["ps", "-aq", "--no-trunc", "--filter", `label=${label}`], { encoding: "utf8" }).split("\n").filter(Boolean);
}

/** Kills every process whose command line names the sandbox (its bwrap and tool runner). */
function killSandboxProcesses(sandboxId: string): number {
  let killed = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`oma-sandbox=${sandboxId}`)) {
        process.kill(Number(pid), "SIGKILL");
        killed++;
      }
    } catch {
      // Gone already.
    }
  }
  return killed;
}

describe("a sandbox killed from outside", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  describe.each(backends)("on $name", (backend) => {
  it.skipIf(!backend.available)("SBX-11 the running call and later calls answer UNAVAILABLE / SANDBOX_LOST", async () => {
    const c = app.client(SandboxService);
    const { sandbox } = await c.provision({ resources: { backend: backend.name } });
    const sandboxId = sandbox!.sandboxId;
    const running = bash(c, sandboxId, "echo started; sleep 30");
    await new Promise((r) => setTimeout(r, 500));
    if (backend.name === "docker" || backend.name === "gvisor") {
      const [id] = containersOf(`${LABEL_SANDBOX}=${sandboxId}`);
      execFileSync("docker", ["kill", id!]);
    } else {
      expect(killSandboxProcesses(sandboxId)).toBeGreaterThan(0);
    }
    const lost = await rejection(running);
    expect([lost.code, lost.reason]).toEqual([Code.Unavailable, "SANDBOX_LOST"]);
    const after = await rejection(bash(c, sandboxId, "true"));
    expect(after.reason).toBe("SANDBOX_LOST");
    expect((await c.getSandbox({ sandboxId })).sandbox!.state).toBe(SandboxState.LOST);
    await c.destroySandbox({ sandboxId });
    if (backend.name !== "bubblewrap") expect(containersOf(`${LABEL_SANDBOX}=${sandboxId}`)).toEqual([]);
  });
  });
});

describe.skipIf(!docker.available || !bubblewrap.available)("a server killed with SIGKILL and restarted", () => {
  let dataDir: { path: string; remove(): Promise<void> };
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    dataDir = await tempDir("oma-sbx-restart-");
  });
  afterAll(async () => {
    server?.kill("SIGKILL");
    await dataDir?.remove();
  });

  it("SBX-15 re-attaches live containers, docker and gvisor (replaying keyed results), marks bubblewrap sandboxes LOST, reaps orphans, leaks nothing", async () => {
    const first = await startServer(dataDir.path);
    server = first.child;
    let c = first.sandboxes;
    const a = (await c.provision({ resources: { backend: "docker" } })).sandbox!.sandboxId;
    const b = (await c.provision({ resources: { backend: "docker" } })).sandbox!.sandboxId;
    const w = (await c.provision({ resources: { backend: "bubblewrap" } })).sandbox!.sandboxId;
    // gVisor containers are re-attached like docker's (same labels, same attach stream).
    const g = gvisor?.available ? (await c.provision({ resources: { backend: "gvisor" } })).sandbox!.sandboxId : undefined;
    if (g) await bash(c, g, "echo kept > g.txt");
    const key = randomUUID();
    const call = { sandboxId: a, name: "bash", input: { command: "echo $RANDOM > keep.txt; cat keep.txt" }, idempotencyKey: key };
    const before = await c.execute(call);
    const [containerA] = containersOf(`${LABEL_SANDBOX}=${a}`);
    const instance = execFileSync("docker", ["inspect", "-f", `{{index .Config.Labels "${LABEL_SERVER}"}}`, containerA!], { encoding: "utf8" }).trim();
    expect(instance).not.toBe("");

    first.child.kill("SIGKILL");
    await once(first.child, "exit");
    // An environment the crashed server never recorded: it must be reaped, not leaked.
    const image = execFileSync("docker", ["inspect", "-f", "{{.Config.Image}}", containerA!], { encoding: "utf8" }).trim();
    const runLabelled = (server: string, dataDirLabel: string) =>
      execFileSync("docker", ["run", "-d", "--network", "none", "--label", `${LABEL_SANDBOX}=sbx_${randomBytes(16).toString("hex")}`, "--label", `${LABEL_SERVER}=${server}`, "--label", `${LABEL_DATA_DIR}=${dataDirLabel}`, image, "sleep", "300"], { encoding: "utf8" }).trim();
    const orphan = runLabelled(instance, dataDir.path);
    // Another server's containers: reaped only when its data directory is gone for good.
    const abandoned = runLabelled("srv_gone", join(dataDir.path, "no-such-data-dir"));
    const foreignLive = runLabelled("srv_alive", dataDir.path);

    // A workspace the crashed server never recorded (as if it died mid-Provision).
    const workspaceRoot = process.env["OMA_SANDBOX_ROOT"] ?? join(tmpdir(), `oma-sandboxes-${instance}`);
    const strayWorkspace = join(workspaceRoot, `sbx_${randomBytes(16).toString("hex")}`, "workspace");
    await mkdir(strayWorkspace, { recursive: true });

    const second = await startServer(dataDir.path);
    server = second.child;
    c = second.sandboxes;
    const replay = await c.execute(call);
    expect([replay.replayed, replay.output]).toEqual([true, before.output]);
    expect((await bash(c, a, "cat keep.txt")).output).toBe(before.output);
    expect((await bash(c, b, "echo b-alive")).output).toBe("b-alive\n");
    expect((await rejection(bash(c, w, "true"))).reason).toBe("SANDBOX_LOST");
    if (g) expect((await bash(c, g, "cat g.txt")).output).toBe("kept\n");
    const live = [a, b, ...(g ? [g] : [])];
    expect(containersOf(`${LABEL_SERVER}=${instance}`).sort()).toEqual(live.flatMap((id) => containersOf(`${LABEL_SANDBOX}=${id}`)).sort());
    expect(containersOf(`${LABEL_SERVER}=${instance}`)).not.toContain(orphan);
    expect(existsSync(strayWorkspace)).toBe(false);
    // SBX-16: the lost sandbox's workspace disk is unmounted and gone; the re-attached ones keep theirs.
    const disks = workspaceDisksAvailable().available;
    expect((await mountsUnder(workspaceRoot)).sort()).toEqual(disks ? live.map((id) => join(workspaceRoot, id, "workspace")).sort() : []);
    expect(containersOf(`${LABEL_SERVER}=srv_gone`)).not.toContain(abandoned);
    expect(containersOf(`${LABEL_SERVER}=srv_alive`)).toContain(foreignLive);
    execFileSync("docker", ["rm", "-f", foreignLive]);

    for (const id of [...live, w]) await c.destroySandbox({ sandboxId: id });
    expect(containersOf(`${LABEL_SERVER}=${instance}`)).toEqual([]);
    expect(await mountsUnder(workspaceRoot)).toEqual([]);
    second.child.kill("SIGTERM");
    await once(second.child, "exit");
    server = undefined;
  });
});
