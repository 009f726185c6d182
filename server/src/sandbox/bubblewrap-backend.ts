import { spawnSync } from "node:child_process";
import type { Readable } from "node:stream";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { OmaError } from "../errors/oma-error.js";
import type { BackendStatus, GatewaySpec, SandboxBackend, SandboxEnvironment, SandboxSpec } from "./backend.js";
import { createSandboxCgroups, reapOwnCgroups } from "./cgroup-limits.js";
import { startChildEnvironment } from "./child-environment.js";
import { gatewayWiring } from "./gateway-wiring.js";
import { PYTHON } from "./process-backend.js";
import type { RunnerConnection } from "./runner-connection.js";
import type { SpawnedChild } from "./spawner.js";
import { seccompFilter } from "./seccomp-filter.js";
import { TOOL_RUNNER_SOURCE } from "./tool-runner-source.js";

export const BWRAP = "/usr/bin/bwrap";
const SETPRIV = "/usr/bin/setpriv";
const PRLIMIT = "/usr/bin/prlimit";
/** Size of the in-memory /tmp and home of a sandbox (as docker's). */
const TMPFS_BYTES = 256 * 1024 * 1024;
/** The sandbox's seccomp filter reaches bwrap on this descriptor (fd 3 is --info-fd). */
const SECCOMP_FD = 4;
/** Host uid/gid the sandbox runs as when the server is root: nobody, owner of nothing. */
const HOST_NOBODY = 65534;
/** The unprivileged user inside the sandbox (same as the docker image's). */
const SANDBOX_UID = 1000;
/** Read-only host files a shell, Python and git need; nothing else of /etc is visible. */
const ETC_FILES = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/nsswitch.conf"];

/**
 * Linux namespaces via bubblewrap: every namespace unshared (no network unless asked),
 * host /usr read-only, a private tmpfs root (read-only unless writable_root), the
 * workspace bind-mounted, all capabilities dropped, a new session, no way to gain
 * privileges, no nested user namespaces and a seccomp filter (seccomp-filter.ts). As root the server also (a) runs bwrap as host `nobody`, so even an escape
 * from the namespaces owns nothing, and (b) puts the tool runner, and so everything it
 * starts, in the sandbox's own cgroups for memory, pids and CPU before any request reaches
 * it. Starts in milliseconds.
 */
export function createBubblewrapBackend(options: { unhardened?: boolean } = {}): SandboxBackend {
  const isRoot = process.getuid?.() === 0;
  // unhardened (no seccomp filter, nested user namespaces allowed): only the sandbox bench's
  // reference, to measure what the hardening costs; nothing else can ask for it.
  const hardened = options.unhardened !== true;
  const filterOf = async () => (hardened ? seccompFilter() : undefined);
  return {
    name: "bubblewrap",
    survivesRestart: false,
    isolated: true,
    // Its root is a tmpfs of its own (writable only with writable_root).
    writableRootInMemory: true,
    gateway: true,
    sandboxUid: isRoot ? HOST_NOBODY : undefined,
    async probe(): Promise<BackendStatus> {
      if (!existsSync(BWRAP)) return { available: false, detail: `${BWRAP} not found` };
      if (!existsSync(PYTHON)) return { available: false, detail: `${PYTHON} not found` };
      let filter: Buffer | undefined;
      try {
        filter = await filterOf();
      } catch (err) {
        return { available: false, detail: (err as Error).message };
      }
      // The probe's filter comes on stdin (fd 0); a sandbox's on fd 4.
      const args = [...bwrapArgs({ network: "none", runAsRoot: false, keepCapabilities: false, writableRoot: false, workspace: tmpdir(), seccompFd: filter ? 0 : undefined }), "--", "/bin/true"];
      const r = isRoot ? spawnSync(SETPRIV, [...dropToNobody(), BWRAP, ...args], { timeout: 5000, input: filter }) : spawnSync(BWRAP, args, { timeout: 5000, input: filter });
      return r.status === 0 ? { available: true, detail: "namespaces via bubblewrap, seccomp filter, no nested user namespaces" } : { available: false, detail: `bwrap does not work here: ${String(r.stderr ?? r.error).trim()}` };
    },
    async create(spec: SandboxSpec): Promise<SandboxEnvironment> {
      const home = join(dirname(spec.workspaceDir), "etc");
      await mkdir(home, { recursive: true });
      const user = spec.security.runAsRoot ? { name: "root", uid: 0 } : { name: "sandbox", uid: SANDBOX_UID };
      await writeFile(join(home, "passwd"), `root:x:0:0:root:/root:/bin/bash\n${user.uid ? `sandbox:x:${SANDBOX_UID}:${SANDBOX_UID}::/home/sandbox:/bin/bash\n` : ""}`);
      await writeFile(join(home, "group"), `root:x:0:\n${user.uid ? `sandbox:x:${SANDBOX_UID}:\n` : ""}`);

      let filter: Buffer | undefined;
      try {
        filter = await filterOf();
      } catch (err) {
        throw new OmaError("BACKEND_UNAVAILABLE", `bubblewrap sandbox did not start: ${(err as Error).message}`, { backend: "bubblewrap" }, { cause: err });
      }
      const cgroups = isRoot ? await createSandboxCgroups(spec.serverInstance, spec.sandboxId, { memoryBytes: spec.memoryBytes, pids: spec.pids, cpu: spec.cpu }) : undefined;
      const bwrap = [
        ...bwrapArgs({ network: spec.network, runAsRoot: spec.security.runAsRoot, keepCapabilities: spec.security.keepCapabilities, writableRoot: spec.security.writableRoot, workspace: spec.workspaceDir, etcDir: home, gateway: spec.gateway, seccompFd: filter ? SECCOMP_FD : undefined }),
        "--clearenv",
        ...Object.entries({ PATH: "/usr/local/bin:/usr/bin:/bin", HOME: user.uid ? "/home/sandbox" : "/root", USER: user.name, ...gatewayWiring.env(spec.gateway), ...spec.env }).flatMap(([k, v]) => ["--setenv", k, v]),
        "--",
        PYTHON, "-I", "-S", "-c", TOOL_RUNNER_SOURCE, "/workspace", `oma-sandbox=${spec.sandboxId}`, ...gatewayWiring.runnerArgs(spec.gateway),
      ];
      // Without cgroups the limits fall back to rlimits: address space and process count.
      let command = BWRAP;
      let args = bwrap;
      if (!cgroups && existsSync(PRLIMIT)) {
        command = PRLIMIT;
        args = [`--as=${spec.memoryBytes}`, `--nproc=${spec.pids}`, BWRAP, ...bwrap];
      }
      if (isRoot) {
        // bwrap runs as nobody; its --info-fd names the runner's host pid, which the server
        // (root) moves into the cgroups. Requests wait for that, so nothing runs unlimited,
        // while Provision does not (cgroup v1 migrations are slow).
        args = [...dropToNobody(), command, ...(command === BWRAP ? ["--info-fd", "3"] : []), ...args];
        command = SETPRIV;
      }
      const joinCgroups = (child: SpawnedChild, runner: RunnerConnection) => {
        if (!cgroups) return;
        runner.holdRequestsUntil(
          runnerPid(child).then(async (pid) => {
            for (const file of cgroups.procsFiles) await writeFile(file, String(pid));
          }),
          "the sandbox's resource limits could not be applied",
        );
      };
      try {
        return await startChildEnvironment(spec.sandboxId, command, args, { PATH: "/usr/bin:/bin" }, "/", async () => cgroups?.remove(), joinCgroups, { info: true, ...(filter ? { input: filter } : {}) });
      } catch (err) {
        await cgroups?.remove();
        throw new OmaError("BACKEND_UNAVAILABLE", `bubblewrap sandbox did not start: ${(err as Error).message}`, { backend: "bubblewrap" }, { cause: err });
      }
    },
    // bwrap runs with --die-with-parent: nothing is left to re-attach after a restart.
    async reattach() {
      return undefined;
    },
    // Its processes died with the server; the cgroups a killed server left behind (made for
    // a sandbox it may never have recorded) remain until the next server on its data removes them.
    async reapOrphans(serverInstance: string) {
      return isRoot ? reapOwnCgroups(serverInstance) : 0;
    },
  };
}

/** The host pid of the sandbox's first process, from bwrap's --info-fd JSON on fd 3. */
function runnerPid(child: SpawnedChild): Promise<number> {
  const info: Readable | undefined = child.stdio[3];
  if (!info) return Promise.reject(new Error("bwrap has no info pipe"));
  return new Promise<number>((resolve, reject) => {
    let text = "";
    info.setEncoding("utf8");
    info.on("data", (s: string) => {
      text += s;
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    info.on("end", () => reject(new Error("bwrap did not report the sandbox's pid")));
    info.on("error", reject);
  });
}

function dropToNobody(): string[] {
  return ["--reuid", String(HOST_NOBODY), "--regid", String(HOST_NOBODY), "--clear-groups"];
}

interface BwrapOptions {
  network: "none" | "full";
  runAsRoot: boolean;
  keepCapabilities: boolean;
  writableRoot: boolean;
  workspace: string;
  etcDir?: string;
  gateway?: GatewaySpec;
  /** Descriptor bwrap reads the seccomp filter from (see seccomp-filter.ts); undefined only unhardened. */
  seccompFd: number | undefined;
}

function bwrapArgs(o: BwrapOptions): string[] {
  // --as-pid-1: the runner is the namespace's init, so no bwrap reaper holds its stdio, and
  // everything inside dies with it.
  // --disable-userns: the sandbox's user namespace is its last one (no nested ones, the door
  // of most container escapes); the seccomp filter refuses the same and much more.
  const args = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "oma-sandbox"];
  if (o.seccompFd !== undefined) args.push("--disable-userns", "--seccomp", String(o.seccompFd));
  if (o.network === "full") args.push("--share-net", "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf", "--ro-bind-try", "/etc/hosts", "/etc/hosts");
  // Capabilities here are those of the sandbox's own user namespace, never the host's.
  args.push(...(o.keepCapabilities ? ["--cap-add", "ALL"] : ["--cap-drop", "ALL"]));
  args.push("--ro-bind", "/usr", "/usr");
  for (const dir of ["bin", "lib", "lib64", "sbin"]) args.push("--symlink", `usr/${dir}`, `/${dir}`);
  for (const f of ETC_FILES) args.push("--ro-bind-try", f, f);
  if (o.etcDir) args.push("--ro-bind", join(o.etcDir, "passwd"), "/etc/passwd", "--ro-bind", join(o.etcDir, "group"), "/etc/group");
  // /tmp and home live in memory (charged to the sandbox's memory cgroup), each bounded as on docker.
  const size = ["--size", String(TMPFS_BYTES)];
  args.push("--proc", "/proc", "--dev", "/dev", ...size, "--tmpfs", "/tmp", ...size, "--tmpfs", o.runAsRoot ? "/root" : "/home/sandbox");
  args.push("--bind", o.workspace, "/workspace", "--chdir", "/workspace");
  args.push(...gatewayWiring.bwrapArgs(o.gateway));
  if (!o.writableRoot) args.push("--remount-ro", "/");
  args.push("--uid", o.runAsRoot ? "0" : String(SANDBOX_UID), "--gid", o.runAsRoot ? "0" : String(SANDBOX_UID));
  return args;
}
