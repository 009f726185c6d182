import { access, constants } from "node:fs/promises";
import type { Logger } from "../logger.js";
import type { BackendStatus, SandboxBackend, SandboxEnvironment, SandboxSpec } from "./backend.js";
import { startChildEnvironment } from "./child-environment.js";
import { TOOL_RUNNER_SOURCE } from "./tool-runner-source.js";

export const PYTHON = "/usr/bin/python3";

/**
 * Plain child processes in a temporary workspace. Development only: it isolates NOTHING
 * (same user, same network, same files as the server) and says so when it creates a
 * sandbox: at the first one, then at most once a minute with the count since the last
 * warning. Never chosen by default while docker or bubblewrap works.
 */
export function createProcessBackend(log: Logger): SandboxBackend {
  const warnEveryMs = 60_000;
  let lastWarning = -Infinity;
  let unwarned = 0;
  const warnNoIsolation = (sandboxId: string) => {
    unwarned++;
    if (performance.now() - lastWarning < warnEveryMs) return;
    log.warn({ sandboxId, sandboxesSinceLastWarning: unwarned }, "!!! process sandbox: NO ISOLATION — tools run as the server's user with its network and files; development only");
    lastWarning = performance.now();
    unwarned = 0;
  };
  return {
    name: "process",
    survivesRestart: false,
    isolated: false,
    // Its tools write wherever the server's user may: nothing is bounded.
    writableRootInMemory: false,
    // Its tools share the host's network: no private loopback to put a gateway on.
    gateway: false,
    sandboxUid: undefined,
    async probe(): Promise<BackendStatus> {
      try {
        await access(PYTHON, constants.X_OK);
        return { available: true, detail: "runs tools as plain child processes; isolates nothing" };
      } catch {
        return { available: false, detail: `${PYTHON} not found` };
      }
    },
    async create(spec: SandboxSpec): Promise<SandboxEnvironment> {
      warnNoIsolation(spec.sandboxId);
      const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: spec.workspaceDir, ...spec.env };
      return startChildEnvironment(spec.sandboxId, PYTHON, ["-I", "-S", "-c", TOOL_RUNNER_SOURCE, spec.workspaceDir, `oma-sandbox=${spec.sandboxId}`], env, spec.workspaceDir);
    },
    // The runner exits when the server that started it goes away (EOF on stdin).
    async reattach() {
      return undefined;
    },
    async reapOrphans() {
      return 0;
    },
  };
}
