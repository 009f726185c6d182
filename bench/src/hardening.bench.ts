/**
 * What hardening the sandboxes costs, each figure beside its reference in the same run:
 *   gvisor provision and Execute(bash true)      vs  docker's (through the server, gRPC)
 *   hardened bubblewrap command (seccomp filter,  vs  the same bubblewrap without them (the
 *   no nested user namespaces)                        backend's unhardened reference), both
 *                                                     straight through the tool runner
 *   workspace disk (mkfs, loop mount, unmount)    vs  a bubblewrap provision
 * Goal: hardened bubblewrap <= 1.05x (a filter should cost next to nothing).
 */
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOmaClient } from "@oma/client/node";
import { startApp } from "@oma/server/dist/app.js";
import { createLogger } from "@oma/server/dist/logger.js";
import { createBubblewrapBackend } from "@oma/server/dist/sandbox/bubblewrap-backend.js";
import type { SandboxEnvironment, SandboxSpec } from "@oma/server/dist/sandbox/backend.js";
import { mountWorkspaceDisk, removeSandboxDir, workspaceDisksAvailable } from "@oma/server/dist/sandbox/workspace-disk.js";
import { percentile, printTable, type Row, timePair } from "./report.js";

const p50 = (s: number[]) => percentile(s, 50);
const p95 = (s: number[]) => percentile(s, 95);
const rows: Row[] = [];
const scratch = await mkdtemp(join(tmpdir(), "oma-bench-hardening-"));
await chmod(scratch, 0o711); // bubblewrap runs its sandboxes as nobody when the server is root
const dataDir = join(scratch, "data");
const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", logger: createLogger({ level: "warn" }) });
const oma = createOmaClient({ baseUrl: app.url, token: (await readFile(app.adminTokenFile!, "utf8")).trim() });
const backends = (await oma.serverInfo.getServerInfo({})).sandboxBackends;
console.log(`backends: ${backends.join(", ")}`);

try {
  if (backends.includes("gvisor") && backends.includes("docker")) {
    const made: string[] = [];
    const provision = (backend: string) => async () => made.push((await oma.sandboxes.provision({ resources: { backend } })).sandbox!.sandboxId);
    const [gvisorProvision, dockerProvision] = await timePair(10, provision("gvisor"), provision("docker"), 1);
    const g = (await oma.sandboxes.provision({ resources: { backend: "gvisor" } })).sandbox!.sandboxId;
    const d = (await oma.sandboxes.provision({ resources: { backend: "docker" } })).sandbox!.sandboxId;
    const execute = (sandboxId: string) => () => oma.sandboxes.execute({ sandboxId, name: "bash", input: { command: "true" } });
    const [gvisorExecute, dockerExecute] = await timePair(100, execute(g), execute(d), 50);
    for (const id of [...made, g, d]) await oma.sandboxes.destroySandbox({ sandboxId: id });
    rows.push(
      { what: "gvisor provision p50", value: p50(gvisorProvision), unit: "ms", limit: { what: "docker provision p50", value: p50(dockerProvision) } },
      { what: "gvisor provision p95", value: p95(gvisorProvision), unit: "ms", limit: { what: "docker provision p95", value: p95(dockerProvision) } },
      { what: "gvisor Execute(bash true) p50", value: p50(gvisorExecute), unit: "ms", limit: { what: "docker Execute(bash true) p50", value: p50(dockerExecute) } },
      { what: "gvisor Execute(bash true) p95", value: p95(gvisorExecute), unit: "ms", limit: { what: "docker Execute(bash true) p95", value: p95(dockerExecute) } },
    );
  } else console.log("!!! gvisor or docker is not available here: no gvisor figures");

  if (backends.includes("bubblewrap")) {
    const start = async (unhardened: boolean, name: string): Promise<SandboxEnvironment> => {
      const workspaceDir = join(scratch, name, "workspace");
      await mkdir(workspaceDir, { recursive: true });
      await chmod(join(scratch, name), 0o711);
      await chmod(workspaceDir, 0o777);
      const spec: SandboxSpec = { sandboxId: `sbx_bench${name}`, serverInstance: "srv_bench", workspaceDir, image: "", cpu: 1, memoryBytes: 512 * 2 ** 20, pids: 256, diskBytes: 2 ** 30, network: "none", env: {}, security: { runAsRoot: false, writableRoot: false, keepCapabilities: false, allowPrivilegeEscalation: false } };
      return createBubblewrapBackend({ unhardened }).create(spec);
    };
    const hardened = await start(false, "hardened");
    const plain = await start(true, "plain");
    const command = (env: SandboxEnvironment) => () => env.runner.runCommand("true", 10_000, 1024, () => undefined).done;
    const [withFilter, without] = await timePair(300, command(hardened), command(plain), 100);
    await hardened.destroy();
    await plain.destroy();
    rows.push(
      { what: "hardened bubblewrap bash true p50", value: p50(withFilter), unit: "ms", limit: { what: "unhardened bubblewrap p50", value: p50(without) }, goal: { atMost: 1.05 } },
      { what: "hardened bubblewrap bash true p95", value: p95(withFilter), unit: "ms", limit: { what: "unhardened bubblewrap p95", value: p95(without) }, goal: { atMost: 1.05 } },
    );

    if (workspaceDisksAvailable().available) {
      let n = 0;
      const disk = async () => {
        const dir = join(scratch, `disk${n++}`);
        await mkdir(join(dir, "workspace"), { recursive: true });
        await mountWorkspaceDisk(join(dir, "workspace"), 2 ** 30);
        await removeSandboxDir(dir);
      };
      const provisionBwrap = async () => {
        const id = (await oma.sandboxes.provision({ resources: { backend: "bubblewrap" } })).sandbox!.sandboxId;
        await oma.sandboxes.destroySandbox({ sandboxId: id });
      };
      const [diskTimes, provisionTimes] = await timePair(20, disk, provisionBwrap, 2);
      rows.push({ what: "workspace disk of 1 GiB: make, mount, unmount, delete p50", value: p50(diskTimes), unit: "ms", limit: { what: "bubblewrap provision + destroy p50 (disk included)", value: p50(provisionTimes) } });
    }
  }
} finally {
  await app.close();
  await rm(scratch, { recursive: true, force: true });
}

printTable("Hardened sandboxes: what gVisor, the seccomp filter and the workspace disk cost", rows);
