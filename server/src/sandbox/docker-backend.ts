import { existsSync, readFileSync } from "node:fs";
import { rmdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { PassThrough, type Duplex } from "node:stream";
import Docker from "dockerode";
import { OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { BackendStatus, EnvironmentRef, SandboxBackend, SandboxEnvironment, SandboxSpec } from "./backend.js";
import { gatewayWiring } from "./gateway-wiring.js";
import { GVISOR_STATX_SHIM_HOST, gvisorStatxShim } from "./gvisor-statx-shim.js";
import { RunnerConnection } from "./runner-connection.js";
import { dockerSeccompProfile } from "./seccomp-filter.js";
import { removeSandboxDir } from "./workspace-disk.js";
import { TOOL_RUNNER_SOURCE } from "./tool-runner-source.js";

/** Labels that find a server's containers again after a restart. */
export const LABEL_SANDBOX = "dev.oma.sandbox";
export const LABEL_SERVER = "dev.oma.server";
export const LABEL_DATA_DIR = "dev.oma.data-dir";
/** Images built by scripts/build-sandbox-image carry this label (value: recipe hash). */
export const LABEL_IMAGE = "dev.oma.sandbox-image";
const SANDBOX_UID = 1000;
/** Size of the in-memory /tmp and home of a container. */
const TMPFS_BYTES = 256 * 1024 * 1024;
/**
 * gVisor's own share of a container's memory cgroup: its kernel's memory, beside the
 * sandbox's memory_bytes.
 */
const GVISOR_MEMORY_BYTES = 256 * 1024 * 1024;
/**
 * The host tasks a gVisor container may have: a quarter of the host's (kernel.pid_max).
 * With the ptrace platform gVisor's kernel keeps a host stub process per sandboxed address
 * space and, in each, a thread per kernel thread that has run it, so its host tasks grow
 * with process churn, not with the sandbox's pids: at pids 64, 300 short pipelines took
 * over 2,200 and 1,200 took ~3,200 (still growing at 100 s); at pids 256 fewer, not more
 * (~2,100 against ~2,600 at 60 s). A backstop scaled by pids (10 per process + 256: 896 at
 * 64) ended such sandboxes, which SBX-9 says carry on. The sandbox's own processes stay
 * bounded by RLIMIT_NPROC inside gVisor; this only keeps one sandbox from taking the
 * host's last pids.
 */
const GVISOR_HOST_TASKS = Math.floor(readPidMax() / 4);
function readPidMax(): number {
  try {
    const n = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // Not Linux's procfs: the kernel's default on small hosts.
  }
  return 32_768;
}
/** How long start-up waits for the engine to answer before docker counts as unavailable. */
const PROBE_TIMEOUT_MS = 5000;
/** How long a container's runner gets to say it is ready. */
const READY_TIMEOUT_MS = 30_000;

export interface DockerBackendOptions {
  /** Image used when resources.image is empty; default: newest image labelled dev.oma.sandbox-image. */
  readonly defaultImage?: string;
  /**
   * The server's data directory, recorded on each container: a container whose data
   * directory is gone can never be re-attached by anyone, so any server may reap it.
   */
  readonly dataDir?: string;
  /**
   * An OCI runtime registered with the engine to run the containers instead of its default
   * (runc): "runsc" makes this the gvisor backend (scripts/register-gvisor-runtime).
   */
  readonly runtime?: "runsc";
}

/**
 * Docker containers via the engine's API (dockerode). The container's main process is the
 * tool runner, reached over an attach stream, so an Execute is one spawn inside the
 * container (no `docker exec` round trips). Defaults: user 1000, read-only root with
 * tmpfs /tmp and home, the workspace a host directory bind-mounted at /workspace, all
 * capabilities dropped, no-new-privileges, no network, CPU/memory/pids limits, no log
 * driver (tool output is not written to the engine's disk).
 */
export function createDockerBackend(log: Logger, options: DockerBackendOptions = {}): SandboxBackend & { defaultImage(): Promise<string | undefined> } {
  const docker = new Docker();
  const name = options.runtime === "runsc" ? "gvisor" : "docker";
  let cachedImage: string | undefined = options.defaultImage;

  async function defaultImage(): Promise<string | undefined> {
    if (cachedImage) return cachedImage;
    const images = await docker.listImages({ filters: JSON.stringify({ label: [LABEL_IMAGE] }) });
    const newest = images.filter((i) => (i.RepoTags ?? []).some((t) => t !== "<none>:<none>")).sort((a, b) => b.Created - a.Created)[0];
    cachedImage = newest?.RepoTags?.find((t) => t !== "<none>:<none>");
    return cachedImage;
  }

  interface Attached {
    readonly runner: RunnerConnection;
    readonly stream: Duplex;
    readonly stopWatching: AbortController;
  }

  async function connect(sandboxId: string, container: Docker.Container): Promise<Attached> {
    const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stderr.resume();
    docker.modem.demuxStream(stream, stdout, stderr);
    stream.on("end", () => stdout.end());
    stream.on("close", () => stdout.end());
    return { runner: new RunnerConnection(sandboxId, stream, stdout), stream, stopWatching: new AbortController() };
  }

  function environment({ runner, stream, stopWatching }: Attached, container: Docker.Container): SandboxEnvironment {
    const hangUp = () => {
      stopWatching.abort();
      stream.destroy();
    };
    return {
      runner,
      ref: { containerId: container.id },
      async destroy() {
        runner.close("the sandbox was destroyed");
        hangUp();
        await container.remove({ force: true }).catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
      },
      async detach() {
        runner.close("the server detached from the sandbox");
        hangUp();
      },
    };
  }

  return {
    name,
    survivesRestart: true,
    isolated: true,
    // gVisor keeps its root's writes in an overlay in its own memory (--overlay2=root:memory,
    // scripts/register-gvisor-runtime); runc writes them to the engine's container layer.
    writableRootInMemory: options.runtime !== undefined,
    gateway: true,
    sandboxUid: SANDBOX_UID,
    defaultImage,
    async probe(): Promise<BackendStatus> {
      try {
        await withTimeout(docker.ping(), PROBE_TIMEOUT_MS, "no answer");
      } catch (err) {
        return { available: false, detail: `the Docker engine does not answer: ${(err as Error).message}` };
      }
      if (options.runtime) {
        const info = (await withTimeout(docker.info(), PROBE_TIMEOUT_MS, "no answer").catch(() => ({}))) as { Runtimes?: Record<string, unknown> };
        if (!info.Runtimes?.[options.runtime]) return { available: false, detail: `the Docker engine has no runtime "${options.runtime}"; run scripts/register-gvisor-runtime` };
      }
      const image = await withTimeout(defaultImage(), PROBE_TIMEOUT_MS, "no answer listing images").catch(() => undefined);
      if (!image) return { available: false, detail: "no sandbox image; run scripts/build-sandbox-image" };
      const shimMissing = options.runtime && !gvisorStatxShim() ? ` (${GVISOR_STATX_SHIM_HOST} is missing: ls -l, stat and du fail inside; run scripts/register-gvisor-runtime)` : "";
      return { available: true, detail: `${name}, default image ${image}${shimMissing}` };
    },
    async create(spec: SandboxSpec): Promise<SandboxEnvironment> {
      const image = spec.image || (await defaultImage());
      if (!image) throw new OmaError("BACKEND_UNAVAILABLE", "no sandbox image; run scripts/build-sandbox-image", { backend: name });
      // gVisor runs its own network stack (runsc --network=none here): loopback only.
      if (options.runtime && spec.network === "full") throw new OmaError("BACKEND_UNAVAILABLE", `the ${name} backend has no network beyond loopback; network FULL needs docker or bubblewrap (ALLOW_LIST works: it goes through the gateway)`, { backend: name, field: "resources.network.mode" });
      const uid = spec.security.runAsRoot ? 0 : SANDBOX_UID;
      const home = uid ? "/home/sandbox" : "/root";
      const shim = options.runtime ? gvisorStatxShim() : undefined;
      let container: Docker.Container;
      try {
        container = await docker.createContainer({
          Image: image,
          Cmd: ["python3", "-I", "-S", "-c", TOOL_RUNNER_SOURCE, "/workspace", ...gatewayWiring.runnerArgs(spec.gateway)],
          Entrypoint: [],
          User: `${uid}:${uid}`,
          WorkingDir: "/workspace",
          Env: Object.entries({ PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home, ...shim?.env, ...gatewayWiring.env(spec.gateway), ...spec.env }).map(([k, v]) => `${k}=${v}`),
          Labels: { [LABEL_SANDBOX]: spec.sandboxId, [LABEL_SERVER]: spec.serverInstance, ...(options.dataDir ? { [LABEL_DATA_DIR]: resolve(options.dataDir) } : {}) },
          Hostname: "oma-sandbox",
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          OpenStdin: true,
          StdinOnce: false,
          Tty: false,
          NetworkDisabled: spec.network === "none",
          HostConfig: {
            // The runner is PID 1 (it reaps orphans): no init holding the container's stdio
            // that sandboxed code could open, and when the runner ends, everything ends.
            Init: false,
            ...(options.runtime ? { Runtime: options.runtime } : {}),
            NetworkMode: spec.network === "none" ? "none" : "bridge",
            NanoCpus: Math.round(spec.cpu * 1e9),
            Memory: spec.memoryBytes + (options.runtime ? GVISOR_MEMORY_BYTES : 0),
            MemorySwap: spec.memoryBytes + (options.runtime ? GVISOR_MEMORY_BYTES : 0),
            // Under gVisor the container's pids cgroup counts the user-space kernel's own
            // host tasks too (at the limit it dies, and the sandbox with it): the sandbox's
            // processes are bounded inside gVisor by RLIMIT_NPROC, the cgroup is a backstop
            // for the host (GVISOR_HOST_TASKS).
            PidsLimit: options.runtime ? GVISOR_HOST_TASKS : spec.pids,
            // Likewise memory: the container's cgroup holds gVisor's kernel too, and at its
            // limit the whole sandbox is killed; a process past memory_bytes is stopped inside
            // by RLIMIT_AS first (a MemoryError, a failed malloc), the cgroup is a backstop.
            ...(options.runtime ? { Ulimits: [{ Name: "nproc", Soft: spec.pids, Hard: spec.pids }, { Name: "as", Soft: spec.memoryBytes, Hard: spec.memoryBytes }] } : {}),
            ReadonlyRootfs: !spec.security.writableRoot,
            CapDrop: spec.security.keepCapabilities ? [] : ["ALL"],
            SecurityOpt: [...(spec.security.allowPrivilegeEscalation ? [] : ["no-new-privileges"]), ...(options.runtime ? [`seccomp=${dockerSeccompProfile()}`] : [])],
            Tmpfs: {
              "/tmp": `rw,nosuid,nodev,size=${TMPFS_BYTES},mode=1777`,
              [home]: `rw,nosuid,nodev,size=${TMPFS_BYTES},uid=${uid},gid=${uid},mode=0700`,
            },
            Binds: [`${spec.workspaceDir}:/workspace:rw`, ...gatewayWiring.dockerBinds(spec.gateway), ...(shim?.binds ?? [])],
            LogConfig: { Type: "none", Config: {} },
          },
        });
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 404) throw new OmaError("BACKEND_UNAVAILABLE", `image ${image} is not on the Docker engine`, { backend: name, image }, { cause: err });
        throw err;
      }
      try {
        const attached = await connect(spec.sandboxId, container);
        await container.start();
        await withTimeout(attached.runner.ready, READY_TIMEOUT_MS, "the container's tool runner did not start");
        watchExit(container, attached);
        return environment(attached, container);
      } catch (err) {
        await container.remove({ force: true }).catch(() => undefined);
        throw new OmaError("BACKEND_UNAVAILABLE", `${name} sandbox did not start: ${(err as Error).message}`, { backend: name, image }, { cause: err });
      }
    },
    async reattach(sandboxId: string, ref: EnvironmentRef): Promise<SandboxEnvironment | undefined> {
      const id = ref["containerId"];
      if (!id) return undefined;
      const container = docker.getContainer(id);
      try {
        const info = await container.inspect();
        if (!info.State.Running || info.Config.Labels?.[LABEL_SANDBOX] !== sandboxId) {
          await container.remove({ force: true }).catch(() => undefined);
          return undefined;
        }
        const attached = await connect(sandboxId, container);
        await withTimeout(attached.runner.ping(), READY_TIMEOUT_MS, "the container's tool runner does not answer");
        watchExit(container, attached);
        return environment(attached, container);
      } catch (err) {
        log.warn({ sandboxId, err }, `could not re-attach a ${name} sandbox; reaping it`);
        await container.remove({ force: true }).catch(() => undefined);
        return undefined;
      }
    },
    async reapOrphans(serverInstance: string, keep: ReadonlySet<string>): Promise<number> {
      const found = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [LABEL_SANDBOX] }) });
      let reaped = 0;
      for (const c of found) {
        const mine = c.Labels[LABEL_SERVER] === serverInstance;
        // Another server's container stays unless its data directory (and so any chance
        // of re-attaching it) is gone; on this machine that is a plain path check.
        const abandoned = !mine && c.Labels[LABEL_DATA_DIR] !== undefined && !existsSync(join(c.Labels[LABEL_DATA_DIR], "leveldb"));
        if (mine ? keep.has(c.Labels[LABEL_SANDBOX] ?? "") : !abandoned) continue;
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
        if (abandoned) await removeAbandonedWorkspace(c);
        reaped++;
      }
      return reaped;
    },
  };
}

/**
 * The workspace of a reaped container of a server whose data directory is gone: nobody
 * else will ever remove it. Only a directory shaped like one (`<root>/<sandbox id>/workspace`,
 * the id the container's label names), then the root once it is empty.
 */
async function removeAbandonedWorkspace(c: Docker.ContainerInfo): Promise<void> {
  const workspace = c.Mounts?.find((m) => m.Destination === "/workspace")?.Source;
  const sandboxId = c.Labels[LABEL_SANDBOX] ?? "";
  if (!workspace || !/^sbx_[0-9a-f]+$/.test(sandboxId) || basename(workspace) !== "workspace" || basename(dirname(workspace)) !== sandboxId) return;
  await removeSandboxDir(dirname(workspace)).catch(() => undefined);
  await rmdir(dirname(dirname(workspace))).catch(() => undefined); // only when empty
}

/** The attach stream does not always end when a container dies; waiting on it does. */
function watchExit(container: Docker.Container, { runner, stopWatching }: { runner: RunnerConnection; stopWatching: AbortController }): void {
  container.wait({ abortSignal: stopWatching.signal }).then(
    (r: { StatusCode?: number }) => runner.close(`the sandbox's container exited (status ${r.StatusCode ?? "unknown"})`),
    () => {
      if (!stopWatching.signal.aborted) runner.close("the sandbox's container is gone");
    },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
