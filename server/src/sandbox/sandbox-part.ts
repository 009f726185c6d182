import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmaError } from "../errors/oma-error.js";
import type { Db, PartContext, ServerPart } from "../part.js";
import { BACKEND_NAMES, type SandboxBackend } from "./backend.js";
import { createBubblewrapBackend } from "./bubblewrap-backend.js";
import { createDockerBackend } from "./docker-backend.js";
import { createProcessBackend } from "./process-backend.js";
import { SandboxManager } from "./sandbox-manager.js";
import { createSandboxService } from "./sandbox-service.js";
import { sandboxValidators } from "./sandbox-validators.js";
import { resolveResources } from "./resources.js";
import { TOOLS } from "./tools.js";
import { workspaceDisksAvailable } from "./workspace-disk.js";
import type { SandboxResources } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { SandboxStore } from "./sandbox-store.js";
import { forwardToOwners } from "./sandbox-forwarding.js";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";

/** READY → "ready": the state as a metrics label. */
function sandboxStateName(state: SandboxState): string {
  return (SandboxState[state] ?? "UNSPECIFIED").toLowerCase();
}
import type { SandboxGateways } from "../gateway/sandbox-gateway.js";

export interface SandboxPartOptions {
  /** "docker", "bubblewrap" or "process"; default: env OMA_SANDBOX_BACKEND, else the best that works. */
  readonly backend?: string;
  /**
   * Parent directory of the workspaces; default: env OMA_SANDBOX_ROOT, else
   * `<tmp>/oma-sandboxes-<instance>` (removed when the server closes with none left).
   * Outside the data directory on purpose: sandbox users
   * must traverse it, and they must never be able to reach the server's data.
   */
  readonly workspaceRoot?: string;
  /** Gateways for repositories and allow-lists (SEC-12, SEC-15); without them such recipes are BACKEND_UNAVAILABLE. */
  readonly gateways?: SandboxGateways;
  /**
   * On a system of several servers: the shared store (`nats://…`), where each sandbox's
   * server is recorded, and the URL other servers reach this one at (read when a sandbox
   * is made). Calls for another server's sandboxes are forwarded to it.
   */
  readonly shared?: { readonly storeUrl: string; readonly advertiseUrl: () => string };
}

export interface SandboxPart extends ServerPart {
  /** Available backends, the default first (GetServerInfo.sandbox_backends). */
  readonly backends: readonly string[];
  /** What an AgentConfig's tools and sandbox recipe are checked against at CreateSession. */
  readonly agentRules: { readonly sandboxTools: readonly string[]; readonly checkSandbox: (resources: SandboxResources, field: string) => void };
  /** Live sandboxes by backend and state (for the metrics). */
  counts(): { backend: string; state: string; count: number }[];
}

/**
 * Opens the sandbox part: probes each backend, picks the default (docker if the engine
 * answers and the image exists, else bubblewrap, else process with a loud warning),
 * re-attaches or reaps what a previous run left, and serves SandboxService.
 */
export async function openSandboxPart(db: Db, ctx: PartContext, options: SandboxPartOptions = {}): Promise<SandboxPart> {
  const log = ctx.logger.child({ part: "sandbox" });
  const candidates: SandboxBackend[] = [createDockerBackend(log, { dataDir: ctx.dataDir }), createBubblewrapBackend(), createDockerBackend(log, { dataDir: ctx.dataDir, runtime: "runsc" }), createProcessBackend(log)];
  const available = new Map<string, SandboxBackend>();
  for (const b of candidates) {
    const status = await b.probe();
    if (status.available) available.set(b.name, b);
    else log.info({ backend: b.name, detail: status.detail }, "sandbox backend unavailable");
  }
  const wanted = options.backend ?? process.env["OMA_SANDBOX_BACKEND"];
  if (wanted && !BACKEND_NAMES.includes(wanted as never)) {
    throw new OmaError("BACKEND_UNAVAILABLE", `unknown sandbox backend "${wanted}" (use ${BACKEND_NAMES.join(", ")})`, { backend: wanted });
  }
  if (wanted && !available.has(wanted)) throw new OmaError("BACKEND_UNAVAILABLE", `sandbox backend "${wanted}" does not work on this machine`, { backend: wanted });
  const defaultBackend = wanted ?? [...available.keys()][0];
  if (!defaultBackend) log.error("no sandbox backend works on this machine; Provision will answer BACKEND_UNAVAILABLE");
  else if (defaultBackend === "process") log.warn("!!! default sandbox backend is 'process': sandboxes are NOT isolated (development only); install docker or bubblewrap");
  else log.info({ backend: defaultBackend, available: [...available.keys()] }, "sandbox backend");

  const store = new SandboxStore(db, ctx.storage);
  const instanceId = await store.instanceId();
  const workspaceRoot = options.workspaceRoot ?? process.env["OMA_SANDBOX_ROOT"] ?? join(tmpdir(), `oma-sandboxes-${instanceId}`);
  const shared = options.shared;
  // The JetStream client is loaded only by a server that shares a store.
  const locations = shared ? await (await import("./sandbox-locations.js")).JetStreamSandboxLocations.open(shared.storeUrl, () => ({ instanceId, url: shared.advertiseUrl() })) : undefined;
  const disks = workspaceDisksAvailable();
  if (!disks.available && [...available.values()].some((b) => b.isolated)) log.warn({ detail: disks.detail }, "!!! resources.disk_bytes is NOT enforced: workspaces share the host's disk");
  const manager = new SandboxManager({ store, log, backends: available, defaultBackend: defaultBackend ?? "", maxOutputBytes: ctx.limits.maxOutputBytes, workspaceRoot, instanceId,
    observer: { toolFinished: (c) => ctx.metrics.toolDuration.observe({ tool: c.tool, backend: c.backend, outcome: c.outcome }, c.seconds) },
    ...(options.gateways ? { gateways: options.gateways } : {}),
    workspaceDisks: disks.available,
    ...(locations ? { locations } : {}),
  });
  try {
    await manager.open();
  } catch (err) {
    await locations?.close();
    throw err;
  }
  const handlers = createSandboxService(manager, ctx.paging);
  const ordered = defaultBackend ? [defaultBackend, ...[...available.keys()].filter((n) => n !== defaultBackend)] : [];
  return {
    service: { handlers: locations ? forwardToOwners(handlers, { locations, instanceId, holds: (id) => manager.holds(id), log }) : handlers, validators: sandboxValidators({ maxStructDepth: ctx.limits.maxStructDepth }) },
    agentRules: {
      sandboxTools: TOOLS.map((t) => t.name),
      // As Provision checks a recipe: its fields, then whether this server runs its backend.
      checkSandbox(resources, field) {
        const backend = resolveResources(resources, defaultBackend ?? "", field).backend;
        if (!available.has(backend)) throw new OmaError("BACKEND_UNAVAILABLE", `sandbox backend "${backend}" does not work on this server`, { backend, field: `${field}.backend` });
      },
    },
    // SEC-1/SEC-2 are claimed only when the sandboxes a client gets by default are isolated.
    features: [
      "sandbox.core",
      "sandbox.stream",
      ...(defaultBackend && available.get(defaultBackend)?.isolated ? ["sandbox.isolation", ...(disks.available ? ["sandbox.disk"] : [])] : []),
      ...(options.gateways && ordered.some((b) => available.get(b)?.gateway) ? ["sandbox.repositories", "sandbox.egress"] : []),
    ],
    backends: ordered,
    counts: () => manager.counts().map((c) => ({ backend: c.backend, state: sandboxStateName(c.state), count: c.count })),
    async close() {
      await manager.close();
      await locations?.close();
    },
  };
}
