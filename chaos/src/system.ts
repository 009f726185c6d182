import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOmaClient, type OmaClient } from "@oma/client/node";
import { startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import { childPids, commandLine } from "@oma/server/dist/testing/process-tree.js";
import type { ChaosConfig } from "./config.js";
import { ModelScript } from "./model-script.js";
import type { Random } from "./random.js";
import { RemoteWorkers } from "./remote-workers.js";
import { ServerSupervisor } from "./server-supervisor.js";
import { SmallFilesystem } from "@oma/server/dist/testing/small-filesystem.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TcpProxy } from "./tcp-proxy.js";

/** A worker process the faults can hit: a local one of the server, or one behind the proxy. */
export interface WorkerProcess {
  readonly workerId: string;
  readonly pid: number;
  readonly local: boolean;
}

/**
 * Everything the run starts, all under one temp root (the run's TMPDIR, so the server's
 * sandbox workspaces and every process it starts are found by it afterwards): the scripted
 * model, `oma serve` under a supervisor on a fixed port with its local workers, a TCP proxy
 * and the workers behind it, and, when the disk-full fault is on, a small filesystem for
 * the data directory.
 */
export class System {
  readonly root: string;
  readonly runId: string;
  readonly cgroupParent: string;
  readonly model: ScriptedModel;
  readonly script: ModelScript;
  readonly server: ServerSupervisor;
  readonly proxy: TcpProxy;
  readonly remote: RemoteWorkers;
  readonly filesystem: SmallFilesystem | undefined;
  /** Why the disk-full fault cannot run here, if it cannot. */
  readonly noFilesystem: string | undefined;
  #client: OmaClient | undefined;

  private constructor(parts: {
    root: string; runId: string; cgroupParent: string; model: ScriptedModel; script: ModelScript; server: ServerSupervisor;
    proxy: TcpProxy; remote: RemoteWorkers; filesystem: SmallFilesystem | undefined; noFilesystem: string | undefined;
  }) {
    this.root = parts.root;
    this.runId = parts.runId;
    this.cgroupParent = parts.cgroupParent;
    this.model = parts.model;
    this.script = parts.script;
    this.server = parts.server;
    this.proxy = parts.proxy;
    this.remote = parts.remote;
    this.filesystem = parts.filesystem;
    this.noFilesystem = parts.noFilesystem;
  }

  static async start(config: ChaosConfig, random: Random): Promise<System> {
    const root = await mkdtemp(join(tmpdir(), "oma-chaos-"));
    await chmod(root, 0o1777); // the processes' TMPDIR, like /tmp: sandbox users reach their workspaces through it
    const runId = root.slice(root.lastIndexOf("-") + 1).toLowerCase();
    const cgroupParent = `oma-chaos-${runId}`;
    // What is started so far is stopped again if a later step fails.
    const undo: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true })];
    try {
      let filesystem: SmallFilesystem | undefined;
      let noFilesystem: string | undefined;
      if (config.faults.includes("disk-full")) {
        filesystem = await SmallFilesystem.mount(config.dataFsBytes, join(root, "data")).catch((err: unknown) => {
          noFilesystem = (err as Error).message;
          return undefined;
        });
        if (filesystem) undo.unshift(() => filesystem!.unmount());
      }
      const dataDir = join(root, "data", "oma");
      await mkdir(dataDir, { recursive: true });
      const script = new ModelScript({ toolsPerTurn: config.toolsPerTurn, random: random.fork(), hangMs: config.modelIdleTimeoutMs * 3 });
      const model = await startScriptedModel({ script: script.respond });
      undo.unshift(() => model.close());
      const env = {
        ...process.env,
        TMPDIR: root,
        OMA_CGROUP_PARENT: cgroupParent,
        ANTHROPIC_API_KEY: `sk-chaos-${runId}`,
        ANTHROPIC_BASE_URL: model.url,
        OMA_LOG_LEVEL: process.env["OMA_CHAOS_LOG_LEVEL"] ?? "error",
      };
      const modelArgs = ["--model-idle-timeout-ms", String(config.modelIdleTimeoutMs), "--model-backoff-ms", "100", "--model-max-attempts", "8"];
      const server = new ServerSupervisor({
        dataDir,
        port: await freePort(),
        env,
        args: ["--workers", String(config.localWorkers), "--lease-ttl-ms", String(config.leaseTtlMs), "--sandbox-backend", config.backends[0] ?? "bubblewrap", ...modelArgs],
      });
      undo.unshift(() => server.stop());
      await server.start();
      const proxy = await TcpProxy.start({ host: "127.0.0.1", port: Number(new URL(server.url).port) });
      undo.unshift(() => proxy.close());
      const admin = createOmaClient({ baseUrl: server.url, token: await server.adminToken() });
      const { bearerToken } = await admin.tokens.createToken({ tenant: "*", role: TokenRole.WORKER, description: `chaos run ${runId}` });
      const remote = new RemoteWorkers({
        serverUrl: `http://127.0.0.1:${proxy.port}`,
        env: { ...env, OMA_TOKEN: bearerToken },
        args: ["--capacity", String(config.workerCapacity), ...modelArgs],
      });
      undo.unshift(() => remote.stop());
      await remote.start(Array.from({ length: config.remoteWorkers }, (_, i) => `remote-${runId}-${i}`));
      return new System({ root, runId, cgroupParent, model, script, server, proxy, remote, filesystem, noFilesystem });
    } catch (err) {
      for (const step of undo) await step().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A client with the admin token, made once. Its channel reconnects by itself across
   * restarts, but a call made while it backs off from a refused connection fails at once
   * with UNAVAILABLE: fine for the workload, which rides out faults, not for the checks.
   */
  async client(): Promise<OmaClient> {
    this.#client ??= await this.freshClient();
    return this.#client;
  }

  /** A client on a channel of its own: the checks after the faults use one, so none of their reads meets a channel still backing off from the last restart. */
  async freshClient(): Promise<OmaClient> {
    return createOmaClient({ baseUrl: this.server.url, token: await this.server.adminToken() });
  }

  /** The worker processes alive now, local and remote. */
  workers(): WorkerProcess[] {
    const serverPid = this.server.pid;
    const local = serverPid
      ? childPids(serverPid, / worker --server /).map((pid) => ({ workerId: /--id (\S+)/.exec(commandLine(pid))?.[1] ?? "", pid, local: true }))
      : [];
    const remote = this.remote.all.map((w) => ({ workerId: w.workerId, pid: w.child.pid!, local: false }));
    return [...local, ...remote].filter((w) => w.workerId !== "");
  }

  /** Stops everything it started, in order: workers, server (which waits for its own workers), proxy, model, filesystem. */
  async stop(): Promise<void> {
    await this.remote.stop();
    await this.server.stop();
    await this.proxy.close();
    await this.model.close();
    await this.filesystem?.unmount();
  }

}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
