/**
 * Sandbox speed, each figure beside a limit measured in the same run:
 *   provision p50/p95 per backend  vs  `docker run --rm IMAGE true` (CLI) and a bare spawn
 *   Execute round trip of `true`   vs  a bare spawn('true') on the host and `docker exec` (CLI)
 * Goals: bubblewrap provision p50 <= 50 ms; docker provision <= 1.0x CLI docker run;
 * bubblewrap Execute <= 1.5x bare spawn; docker Execute <= 1.0x CLI docker exec.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createOmaClient } from "@oma/client/node";
import { startApp } from "@oma/server/dist/app.js";
import { createLogger } from "@oma/server/dist/logger.js";
import { percentile, printTable, type Row } from "./report.js";

const run = promisify(execFile);

async function time(n: number, fn: () => Promise<unknown>, warmup = 2): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

function bareSpawn(command: string, args: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve());
  });
}

const dataDir = await mkdtemp(join(tmpdir(), "oma-bench-sandbox-"));
const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", logger: createLogger({ level: "warn" }) });
const oma = createOmaClient({ baseUrl: app.url });
const client = oma.sandboxes;
const backends = (await oma.serverInfo.getServerInfo({})).sandboxBackends;
console.log(`backends: ${backends.join(", ")}`);

const spawnTrue = await time(300, () => bareSpawn("true"), 10);
const provisionRows: Row[] = [];
const executeRows: Row[] = [];
const p50 = (s: number[]) => percentile(s, 50);
const p95 = (s: number[]) => percentile(s, 95);

try {
  for (const backend of backends) {
    const n = backend === "docker" ? 10 : 30;
    const ids: string[] = [];
    const provision = await time(n, async () => {
      ids.push((await client.provision({ resources: { backend } })).sandbox!.sandboxId);
    }, 1);
    for (const id of ids.splice(0)) await client.destroySandbox({ sandboxId: id });

    const sandboxId = (await client.provision({ resources: { backend } })).sandbox!.sandboxId;
    const execute = await time(backend === "docker" ? 150 : 300, () => client.execute({ sandboxId, name: "bash", input: { command: "true" } }), 10);

    if (backend === "docker") {
      const container = (await run("docker", ["ps", "-q", "--filter", `label=dev.oma.sandbox=${sandboxId}`])).stdout.trim();
      const image = (await run("docker", ["inspect", "-f", "{{.Config.Image}}", container])).stdout.trim();
      const dockerRun = await time(10, () => run("docker", ["run", "--rm", "--network", "none", image, "true"]), 1);
      const dockerExec = await time(30, () => run("docker", ["exec", container, "true"]), 2);
      provisionRows.push(
        { what: "docker provision p50", value: p50(provision), unit: "ms", limit: { what: "CLI docker run --rm true p50", value: p50(dockerRun) }, goal: { atMost: 1.0 } },
        { what: "docker provision p95", value: p95(provision), unit: "ms", limit: { what: "CLI docker run --rm true p95", value: p95(dockerRun) }, goal: { atMost: 1.0 } },
      );
      executeRows.push(
        { what: "docker Execute(bash true) p50", value: p50(execute), unit: "ms", limit: { what: "CLI docker exec true p50", value: p50(dockerExec) }, goal: { atMost: 1.0 } },
        { what: "docker Execute(bash true) p95", value: p95(execute), unit: "ms", limit: { what: "CLI docker exec true p95", value: p95(dockerExec) }, goal: { atMost: 1.0 } },
      );
    } else {
      const goalOf = backend === "bubblewrap" ? { atMost: 1.5 } : undefined;
      provisionRows.push(
        { what: `${backend} provision p50`, value: p50(provision), unit: "ms", limit: { what: "bare spawn(true) p50", value: p50(spawnTrue) }, goal: { text: backend === "bubblewrap" ? `<= 50 ms: ${p50(provision) <= 50 ? "met" : "NOT met"}` : "none (development only)" } },
        { what: `${backend} provision p95`, value: p95(provision), unit: "ms" },
      );
      executeRows.push(
        { what: `${backend} Execute(bash true) p50`, value: p50(execute), unit: "ms", limit: { what: "bare spawn(true) p50", value: p50(spawnTrue) }, goal: goalOf },
        { what: `${backend} Execute(bash true) p95`, value: p95(execute), unit: "ms", limit: { what: "bare spawn(true) p95", value: p95(spawnTrue) }, goal: goalOf },
      );
    }
    await client.destroySandbox({ sandboxId });
  }
} finally {
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
}

printTable("Sandbox provision latency (one at a time, gRPC over loopback)", provisionRows);
printTable("Execute round trip of `true` (gRPC over loopback, tool runner inside the sandbox)", executeRows);
