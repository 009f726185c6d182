import type { CaseContext } from "../../runner/case.js";
import { bash } from "../sandbox/sandbox-helpers.js";

/**
 * The SEC-1 battery: each probe is a shell command run inside a sandbox that tries one
 * way to reach the target's secret or its surroundings. A probe prints REACHED when the
 * attempt worked; the secret itself must never appear in any output.
 */
export interface Probe {
  readonly name: string;
  readonly command: (p: ProbeParams) => string;
}

export interface ProbeParams {
  readonly secret: string;
  readonly serverHost: string;
  readonly serverPort: number;
  /** The target's data directory, when the runner was told it. */
  readonly dataDir: string | undefined;
}

/** How long one probe may run; one that is killed at it proves nothing, and fails its battery. */
export const PROBE_TIMEOUT_SECONDS = 60;

export const probes: readonly Probe[] = [
  { name: "environment", command: () => "env; cat /proc/self/environ 2>/dev/null | tr '\\0' '\\n'" },
  {
    name: "/proc/*/environ and cmdline of every visible process",
    command: () => "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < \"$f\" 2>/dev/null; done; true",
  },
  {
    // Inside its own pid namespace pid 1 is the sandbox's init, whose root is the sandbox's
    // root; a root that differs from ours is another mount namespace's (the host's).
    name: "/proc/1/root and the parent's environment",
    command: () =>
      "r1=$(stat -L -c %d:%i /proc/1/root/ 2>/dev/null); r0=$(stat -c %d:%i / 2>/dev/null); " +
      "[ -n \"$r1\" ] && [ \"$r1\" != \"$r0\" ] && echo REACHED-proc1-root-is-another-root:$r1; " +
      "cat /proc/1/root/proc/1/environ 2>/dev/null | tr '\\0' '\\n'; cat /proc/$PPID/environ 2>/dev/null | tr '\\0' '\\n'; true",
  },
  {
    name: "grep the visible filesystem for the secret",
    // The secret is assembled inside the shell from two halves, so a copy of this command
    // written to disk by the sandbox (a script file) does not contain it. Searched: every
    // top-level directory but /proc, /sys and /dev (the kernel's views, tried above) and
    // /usr, the installed system, which a package manager writes and a running server does
    // not (FHS); /usr/local, where a site puts its own software and settings, is searched.
    // Top-level links (/bin, /lib → /usr/…) are not followed. /usr's ~120,000 files made
    // this one probe take 28 s of a 29 s battery on an idle host, and over 60 s on a busy one.
    command: (p) => {
      const half = Math.ceil(p.secret.length / 2);
      return (
        `s="$(printf %s '${p.secret.slice(0, half)}')$(printf %s '${p.secret.slice(half)}')"; ` +
        `for d in /* /usr/local; do [ -L "$d" ] && continue; case "$d" in /proc|/sys|/dev|/usr) continue;; esac; grep -rIlF -e "$s" "$d" 2>/dev/null; done | head -5 | sed 's/^/REACHED-file:/'; true`
      );
    },
  },
  {
    name: "the server's data directory",
    command: (p) =>
      (p.dataDir ? `ls -la '${p.dataDir}' 2>/dev/null && echo REACHED-data-dir; ` : "") +
      "find / -maxdepth 6 -type d -name leveldb -not -path '/proc/*' 2>/dev/null | head -3 | sed 's/^/REACHED-leveldb:/'; true",
  },
  {
    name: "the container engine's socket",
    command: () =>
      "for s in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock /run/podman/podman.sock; do test -S $s && echo REACHED-socket:$s; done; true",
  },
  {
    name: "the server's port",
    command: (p) => connect(p.serverHost, p.serverPort, "server"),
  },
  {
    name: "the outside network",
    command: () => `${connect("1.1.1.1", 443, "outside")}; ${connect("8.8.8.8", 53, "outside-dns")}; getent hosts example.com >/dev/null 2>&1 && echo REACHED-dns; true`,
  },
];

function connect(host: string, port: number, tag: string): string {
  return [
    `(exec 3<>/dev/tcp/${host}/${port}) 2>/dev/null && echo REACHED-${tag}-bash`,
    `command -v python3 >/dev/null && python3 -c "import socket; socket.create_connection(('${host}', ${port}), 3)" 2>/dev/null && echo REACHED-${tag}-python`,
    `command -v curl >/dev/null && curl -s -m 3 -o /dev/null http://${host}:${port}/ 2>/dev/null && echo REACHED-${tag}-curl`,
    "true",
  ].join("; ");
}

/** One probe's run: what it printed, and whether it was killed at its timeout. */
export interface ProbeRun {
  readonly probe: Probe;
  readonly output: string;
  readonly timedOut: boolean;
}

/** Runs every probe in `sandboxId`, one after another. */
export async function runProbes(ctx: CaseContext, sandboxId: string, secret: string): Promise<ProbeRun[]> {
  const target = new URL(ctx.targetUrl);
  const params: ProbeParams = { secret, serverHost: target.hostname, serverPort: Number(target.port || 80), dataDir: ctx.dataDir };
  const runs: ProbeRun[] = [];
  for (const probe of probes) {
    const res = await bash(ctx, sandboxId, probe.command(params), { timeoutSeconds: PROBE_TIMEOUT_SECONDS });
    runs.push({ probe, output: res.output, timedOut: res.timedOut });
  }
  return runs;
}

/** "<probe>: did not finish …" for each probe killed at its timeout: an attempt it cannot vouch for. */
export function unfinished(runs: readonly ProbeRun[], backend: string): string[] {
  return runs.filter((r) => r.timedOut).map((r) => `${backend}: ${r.probe.name}: did not finish within ${PROBE_TIMEOUT_SECONDS} s, so its attempt is unproven`);
}
