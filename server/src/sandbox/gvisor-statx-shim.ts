import { existsSync } from "node:fs";

/**
 * Debian bookworm's runsc refuses statx(2) with AT_NO_AUTOMOUNT (EINVAL), which coreutils
 * passes on every call: `ls -l`, `stat` and `du` fail inside gVisor. The shim
 * (scripts/gvisor-statx-shim.c, built by scripts/register-gvisor-runtime) drops the flag;
 * it is bind-mounted read-only into each gvisor container and preloaded, so any image with
 * glibc gets it. Without it (no compiler at setup) gvisor sandboxes work but those commands
 * fail, and the backend's probe says so.
 */
export const GVISOR_STATX_SHIM_HOST = "/usr/local/lib/oma/gvisor-statx.so";
const IN_CONTAINER = "/usr/lib/oma-gvisor-statx.so";

/** The container's binds and environment for the shim, when it is built on this machine. */
export function gvisorStatxShim(): { binds: string[]; env: Record<string, string> } | undefined {
  if (!existsSync(GVISOR_STATX_SHIM_HOST)) return undefined;
  return { binds: [`${GVISOR_STATX_SHIM_HOST}:${IN_CONTAINER}:ro`], env: { LD_PRELOAD: IN_CONTAINER } };
}
