import { chmod, mkdir, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { SandboxSchema, SandboxState, type Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { DEFAULT_TENANT, type Access } from "../auth/principal.js";
import { OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { SandboxBackend, SandboxEnvironment } from "./backend.js";
import { Execution, type ExecResult, type ExecutionEvent } from "./execution.js";
import { resolveResources, resourcesMessage, type ResolvedResources } from "./resources.js";
import { runTool } from "./run-tool.js";
import type { SandboxLocations } from "./sandbox-locations.js";
import type { SandboxStore } from "./sandbox-store.js";
import { recoverSandboxes } from "./recover-sandboxes.js";
import { fingerprintOf, keyReused, newSandboxId } from "./sandbox-ids.js";
import { context, type Context } from "@opentelemetry/api";
import { annotateSpan, ATTR_SESSION_ID, inSpan, sessionAttributes } from "../telemetry/tracing.js";
import { chownTree, writeFiles } from "./workspace-files.js";
import { GATEWAY_DIR, SandboxGateways, type GatewayHandle } from "../gateway/sandbox-gateway.js";
import { mountWorkspaceDisk, removeSandboxDir } from "./workspace-disk.js";
import type { WiredRepository } from "../gateway/wired-repository.js";
import { cloneRepositories } from "./clone-repositories.js";

/** Bounds of the sandbox part, with their defaults (a server may pass its own). */
export const sandboxBounds = {
  /** Execute timeout when the request sets none. */
  defaultTimeoutMs: 120_000,
  /** Largest Execute timeout. */
  maxTimeoutMs: 3_600_000,
  /** How long an execution's output stays attachable after it ends (SBX-10). */
  resumeWindowMs: 10 * 60_000,
  /** How often idle sandboxes are looked for. */
  reapIntervalMs: 1000,
  /** Most sandboxes (of any state) one server keeps; Provision beyond is LIMIT_REACHED. */
  maxSandboxes: 1024,
  /** Most calls running at once in one sandbox; more is LIMIT_REACHED. */
  maxConcurrentCalls: 32,
  /**
   * How long close waits for Provisions and removals under way (a clone may take minutes);
   * what is still running then is left to the next start on the same data, which removes
   * the workspaces of sandboxes it has no record of.
   */
  closeWaitMs: 10_000,
};


interface Live {
  sandbox: Sandbox;
  env: SandboxEnvironment | undefined;
  workspaceDir: string;
  busy: number;
  readonly executions: Map<string, Execution>;
  /** The sandbox's gateway, when it has repositories or an allow-list. */
  gateway?: GatewayHandle | undefined;
}

/** What the manager tells about the work it does (the server's metrics); optional. */
export interface SandboxObserver {
  /** A tool call ran to its end ("failed": the sandbox or its runner failed it). */
  toolFinished(call: { readonly tool: string; readonly backend: string; readonly outcome: "ok" | "error" | "timeout" | "failed"; readonly seconds: number }): void;
}

export interface ManagerDeps {
  readonly store: SandboxStore;
  readonly log: Logger;
  readonly backends: ReadonlyMap<string, SandboxBackend>;
  readonly defaultBackend: string;
  readonly maxOutputBytes: number;
  /** Parent of the sandboxes' workspaces; traversable by the unprivileged sandbox users. */
  readonly workspaceRoot: string;
  readonly instanceId: string;
  /** Overrides of sandboxBounds. */
  readonly bounds?: Partial<Pick<typeof sandboxBounds, "maxSandboxes" | "maxConcurrentCalls" | "closeWaitMs">>;
  readonly observer?: SandboxObserver;
  /** The sandboxes' gateways (repositories, allow-listed egress); without them such recipes are BACKEND_UNAVAILABLE. */
  readonly gateways?: SandboxGateways;
  /** Give each isolating backend's workspace a filesystem of disk_bytes (workspace-disk.ts). */
  readonly workspaceDisks?: boolean;
  /** Where the servers of a system find each other's sandboxes; unset on a server alone. */
  readonly locations?: SandboxLocations;
}

/** Sandboxes as a domain: provision, run tools, expire, destroy, survive restarts. */
export class SandboxManager {
  private readonly live = new Map<string, Live>();
  private reaper: NodeJS.Timeout | undefined;
  /** Provisions under way, counted against maxSandboxes. */
  private provisioning = 0;
  /**
   * Provisions and removals under way: each makes or removes a directory under the
   * workspace root, so close waits for them before it removes the root.
   */
  private readonly changing = new Set<Promise<unknown>>();
  private closing = false;

  private readonly bounds: { maxSandboxes: number; maxConcurrentCalls: number; closeWaitMs: number };

  constructor(private readonly deps: ManagerDeps) {
    this.bounds = { maxSandboxes: sandboxBounds.maxSandboxes, maxConcurrentCalls: sandboxBounds.maxConcurrentCalls, closeWaitMs: sandboxBounds.closeWaitMs, ...deps.bounds };
  }

  /** Loads stored sandboxes: re-attaches what still runs, marks the rest LOST, reaps orphans (SBX-15). */
  async open(): Promise<void> {
    await recoverSandboxes(this.deps, {
      add: (sandbox, workspaceDir) => {
        const live: Live = { sandbox, env: undefined, workspaceDir, busy: 0, executions: new Map() };
        this.live.set(sandbox.sandboxId, live);
        return {
          attach: async (env) => {
            live.env = env;
            this.watch(live);
            await this.reopenGateway(live).catch((err: unknown) => this.deps.log.error({ sandboxId: sandbox.sandboxId, err }, "could not re-open the sandbox's gateway"));
          },
          lost: (reason) => this.markLost(live, reason),
        };
      },
    });
    this.reaper = setInterval(() => void this.reapIdle(), sandboxBounds.reapIntervalMs);
    this.reaper.unref();
  }

  async provision(access: Access, resources: Parameters<typeof resolveResources>[0], labels: Record<string, string>, sessionId: string): Promise<Sandbox> {
    const r = resolveResources(resources, this.deps.defaultBackend);
    const backend = this.deps.backends.get(r.backend);
    if (!backend) throw new OmaError("BACKEND_UNAVAILABLE", `backend "${r.backend}" is not available on this server`, { backend: r.backend, field: "resources.backend" });
    if (this.closing) throw new OmaError("BACKEND_UNAVAILABLE", "this server is shutting down; provision on another server or retry", { backend: r.backend });
    if (this.live.size + this.provisioning >= this.bounds.maxSandboxes) {
      throw new OmaError("LIMIT_REACHED", `this server keeps at most ${this.bounds.maxSandboxes} sandboxes; destroy some first`, { limit: this.bounds.maxSandboxes });
    }
    this.provisioning++;
    try {
      return await this.whileOpen(this.create(backend, r, labels, sessionId, access.tenant));
    } finally {
      this.provisioning--;
    }
  }

  /** A change close must wait for: it settles before close detaches the sandboxes and removes the root. */
  private whileOpen<T>(change: Promise<T>): Promise<T> {
    this.changing.add(change);
    const forget = () => this.changing.delete(change);
    change.then(forget, forget);
    return change;
  }

  private async create(backend: SandboxBackend, r: ResolvedResources, labels: Record<string, string>, sessionId: string, tenant: string): Promise<Sandbox> {
    // SBX-16: every writable path that is not in memory lies within disk_bytes.
    if (this.deps.workspaceDisks && backend.isolated && r.security.writableRoot && !backend.writableRootInMemory) {
      throw new OmaError(
        "BACKEND_UNAVAILABLE",
        `the ${backend.name} backend cannot keep a writable root within resources.disk_bytes: its writes would go to the host's disk; bubblewrap and gvisor keep a writable root in memory`,
        { backend: backend.name, field: "resources.security.writable_root" },
      );
    }
    const routes = await this.wireGateway(backend, r, tenant);
    const sandboxId = newSandboxId();
    const workspaceDir = join(this.deps.workspaceRoot, sandboxId, "workspace");
    // The root is made with the first sandbox, so a server that never provisions leaves nothing.
    await mkdir(this.deps.workspaceRoot, { recursive: true, mode: 0o711 });
    await mkdir(workspaceDir, { recursive: true });
    await chmod(dirname(workspaceDir), 0o711);
    let gateway: GatewayHandle | undefined;
    try {
      if (this.deps.workspaceDisks && backend.isolated) {
        await mountWorkspaceDisk(workspaceDir, r.diskBytes).catch((err: Error) => {
          throw new OmaError("BACKEND_UNAVAILABLE", err.message, { backend: backend.name }, { cause: err });
        });
      }
      await writeFiles(workspaceDir, r);
      const uid = r.security.runAsRoot ? 0 : backend.sandboxUid;
      await chownTree(workspaceDir, uid);
      if (routes) gateway = await this.deps.gateways!.open({ sandboxId, tenant, repositories: routes, allowList: r.allowList }, join(dirname(workspaceDir), GATEWAY_DIR), uid);
      const env = await backend.create({ sandboxId, serverInstance: this.deps.instanceId, workspaceDir, image: r.image, cpu: r.cpu, memoryBytes: r.memoryBytes, pids: r.pids, diskBytes: r.diskBytes, network: r.network, env: r.env, security: r.security, ...(gateway ? { gateway: { hostDir: gateway.hostDir, egress: r.allowList !== undefined } } : {}) });
      if (routes && r.repositories.length > 0) {
        try {
          await cloneRepositories(env.runner, r.repositories, routes);
        } catch (err) {
          await env.destroy();
          throw err;
        }
      }
      const now = Date.now();
      const sandbox = create(SandboxSchema, {
        sandboxId,
        backend: backend.name,
        state: SandboxState.READY,
        resources: resourcesMessage(r),
        labels,
        sessionId,
        tenant,
        createTime: timestampFromMs(now),
        expireTime: timestampFromMs(now + r.idleTtlMs),
      });
      const live: Live = { sandbox, env, workspaceDir, busy: 0, executions: new Map(), gateway };
      try {
        await this.deps.locations?.placed(sandboxId);
        await this.deps.store.putSandbox(sandbox, { ref: env.ref, workspaceDir });
      } catch (err) {
        await env.destroy();
        throw err;
      }
      this.live.set(sandboxId, live);
      this.watch(live);
      return sandbox;
    } catch (err) {
      await gateway?.close();
      await removeSandboxDir(dirname(workspaceDir));
      throw err;
    }
  }

  /**
   * The gateway routes of a recipe that needs a gateway (repositories or an allow-list),
   * its credentials checked; undefined when it needs none. A backend that cannot wire a
   * gateway in, or a server without gateways, is BACKEND_UNAVAILABLE.
   */
  private async wireGateway(backend: SandboxBackend, r: ResolvedResources, tenant: string): Promise<WiredRepository[] | undefined> {
    if (r.repositories.length === 0 && !r.allowList) return undefined;
    const field = r.repositories.length > 0 ? "resources.repositories" : "resources.network.mode";
    if (!this.deps.gateways) throw new OmaError("BACKEND_UNAVAILABLE", "this server has no gateway for repositories or allow-lists", { backend: backend.name, field });
    if (!backend.gateway) {
      throw new OmaError("BACKEND_UNAVAILABLE", `the ${backend.name} backend cannot wire a gateway in (it has no private network); use docker or bubblewrap`, { backend: backend.name, field });
    }
    return this.deps.gateways.wire(tenant, r.repositories);
  }

  /** After a restart: a re-attached sandbox gets its gateway back on the same socket path. */
  private async reopenGateway(live: Live): Promise<void> {
    const stored = live.sandbox.resources;
    if (!this.deps.gateways || !stored || !live.workspaceDir) return;
    const r = resolveResources(stored, live.sandbox.backend);
    if (r.repositories.length === 0 && !r.allowList) return;
    const uid = r.security.runAsRoot ? 0 : this.deps.backends.get(live.sandbox.backend)?.sandboxUid;
    const plan = { sandboxId: live.sandbox.sandboxId, tenant: live.sandbox.tenant || DEFAULT_TENANT, repositories: SandboxGateways.routesOf(r.repositories), allowList: r.allowList };
    live.gateway = await this.deps.gateways.open(plan, join(dirname(live.workspaceDir), GATEWAY_DIR), uid);
  }

  get(access: Access, sandboxId: string): Sandbox {
    return this.find(access, sandboxId).sandbox;
  }

  /** How many sandboxes there are, by backend and state (every tenant's). */
  /** Whether this server holds the sandbox (any state, any tenant). */
  holds(sandboxId: string): boolean {
    return this.live.has(sandboxId);
  }

  counts(): { backend: string; state: SandboxState; count: number }[] {
    const counts = new Map<string, { backend: string; state: SandboxState; count: number }>();
    for (const { sandbox } of this.live.values()) {
      const key = `${sandbox.backend}/${sandbox.state}`;
      const entry = counts.get(key) ?? { backend: sandbox.backend, state: sandbox.state, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return [...counts.values()];
  }

  /** The sandboxes the caller may see (its tenant's), of one session when `sessionId` is set. */
  list(access: Access, sessionId: string): Sandbox[] {
    return [...this.live.values()].map((l) => l.sandbox).filter((s) => reaches(access, s) && (!sessionId || s.sessionId === sessionId));
  }

  async renew(access: Access, sandboxId: string, ttlMs: number | undefined): Promise<Sandbox> {
    const live = this.find(access, sandboxId);
    this.touch(live, ttlMs);
    await this.deps.store.putSandbox(live.sandbox);
    return live.sandbox;
  }

  /**
   * Idempotent (SBX-14): an unknown but well-formed id is already destroyed. A sandbox the
   * caller may not see is left alone, exactly as if it did not exist.
   */
  async destroy(access: Access, sandboxId: string): Promise<void> {
    const live = this.live.get(sandboxId);
    if (!live || !reaches(access, live.sandbox)) return;
    await this.remove(sandboxId, "destroyed by a client");
  }

  private remove(sandboxId: string, why: string): Promise<void> {
    const live = this.live.get(sandboxId);
    if (!live) return Promise.resolve();
    this.live.delete(sandboxId);
    return this.whileOpen(this.removeLive(sandboxId, live, why));
  }

  private async removeLive(sandboxId: string, live: Live, why: string): Promise<void> {
    this.deps.log.info({ sandboxId, why }, "sandbox destroyed");
    await live.env?.destroy().catch((err: unknown) => this.deps.log.warn({ sandboxId, err }, "destroying the environment failed"));
    await live.gateway?.close();
    if (live.workspaceDir) await removeSandboxDir(dirname(live.workspaceDir));
    await this.deps.store.deleteSandbox(sandboxId);
    // A record left behind costs only a forwarded call answered SANDBOX_NOT_FOUND.
    await this.deps.locations?.removed(sandboxId).catch((err: unknown) => this.deps.log.warn({ sandboxId, err }, "could not forget the sandbox's location"));
  }

  /**
   * Runs one call (SBX-3..9), or replays the recorded result of its idempotency key (SBX-8).
   * `cancel` (the caller hung up) kills an unkeyed command; a keyed one runs on so that a
   * retry with the same key gets its result.
   */
  async execute(access: Access, sandboxId: string, name: string, input: JsonObject, timeoutMs: number, key: string, cancel?: AbortSignal, trace?: Context): Promise<ExecResult & { replayed: boolean }> {
    const { execution, replayed, recorded } = await this.start(access, sandboxId, name, input, timeoutMs, key, false, key ? undefined : cancel, trace);
    if (recorded) return { ...recorded, replayed: true };
    return { ...(await execution!.done), replayed };
  }

  /**
   * Output as produced, then the result (SBX-10); a known key attaches to its execution.
   * As with execute, a hang-up kills only an unkeyed command (nothing could resume it).
   */
  async *executeStream(access: Access, sandboxId: string, name: string, input: JsonObject, timeoutMs: number, key: string, resumeOffset: number, cancel?: AbortSignal, trace?: Context): AsyncGenerator<ExecutionEvent & { replayed?: boolean }> {
    const { execution, replayed, recorded } = await this.start(access, sandboxId, name, input, timeoutMs, key, resumeOffset > 0, key ? undefined : cancel, trace);
    if (recorded) {
      if (resumeOffset > 0) throw new OmaError("EXECUTION_NOT_FOUND", "the execution's output is no longer kept", { sandbox_id: sandboxId, idempotency_key: key });
      yield { result: recorded, replayed: true };
      return;
    }
    for await (const event of execution!.follow(resumeOffset)) yield "result" in event ? { ...event, replayed } : event;
  }

  /**
   * Detaches every sandbox (containers stay to be re-attached; child processes end) and
   * removes the workspace root when nothing is left in it. A Provision or a removal still
   * under way (its RPC outlived the listener) finishes first, for up to closeWaitMs; a
   * Provision that starts now is BACKEND_UNAVAILABLE.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.reaper);
    await this.settleChanges();
    // Out of the map first: a runner that ends because the server detaches is not a lost
    // sandbox, and must not be recorded as one (the next start re-attaches it).
    const all = [...this.live.values()];
    this.live.clear();
    for (const live of all) {
      // Containers stay up to be re-attached; child-process sandboxes end with the server,
      // and so do their workspaces: a restart could only mark them LOST, and a data
      // directory that never sees another start would leave them behind for good.
      await live.env?.detach().catch(() => undefined);
      await live.gateway?.close().catch(() => undefined);
      if (live.workspaceDir && !this.deps.backends.get(live.sandbox.backend)?.survivesRestart) {
        await removeSandboxDir(dirname(live.workspaceDir)).catch(() => undefined);
      }
    }
    await rmdir(this.deps.workspaceRoot).catch(() => undefined); // only when empty
  }

  /** Waits for the changes under way (and any they start) for at most closeWaitMs. */
  private async settleChanges(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.bounds.closeWaitMs)));
    try {
      while (this.changing.size > 0) {
        if (await Promise.race([Promise.allSettled([...this.changing]).then(() => false), timedOut])) {
          this.deps.log.warn({ underWay: this.changing.size, waitedMs: this.bounds.closeWaitMs }, "closing with sandbox work still under way: the next start on this data removes what it leaves");
          return;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async start(access: Access, sandboxId: string, name: string, input: JsonObject, timeoutMs: number, key: string, mustExist = false, cancel?: AbortSignal, trace: Context = context.active()): Promise<{ execution?: Execution; replayed: boolean; recorded?: ExecResult }> {
    const live = this.find(access, sandboxId);
    const fingerprint = fingerprintOf(name, input);
    const execution = new Execution(name, fingerprint);
    if (key) {
      const running = live.executions.get(key);
      if (running) {
        if (running.fingerprint !== fingerprint) throw keyReused(sandboxId, key);
        return { execution: running, replayed: true };
      }
      // Claimed before the first await, so a concurrent repeat waits on this call (SBX-8).
      live.executions.set(key, execution);
    }
    const release = (outcome: { error: unknown } | { result: ExecResult }) => {
      if (key && live.executions.get(key) === execution) live.executions.delete(key);
      if ("error" in outcome) execution.fail(outcome.error);
      else execution.finish(outcome.result);
    };
    try {
      if (key) {
        const stored = await this.deps.store.getExecution(sandboxId, key);
        if (stored && stored.fingerprint !== fingerprint) throw keyReused(sandboxId, key);
        if (stored?.result) {
          release({ result: stored.result });
          return { replayed: true, recorded: stored.result };
        }
      }
      if (mustExist) throw new OmaError("EXECUTION_NOT_FOUND", "no execution with this idempotency key is kept", { sandbox_id: sandboxId, idempotency_key: key });
      this.requireReady(live);
      if (live.busy >= this.bounds.maxConcurrentCalls) {
        throw new OmaError("LIMIT_REACHED", `a sandbox runs at most ${this.bounds.maxConcurrentCalls} calls at once`, { sandbox_id: sandboxId, limit: this.bounds.maxConcurrentCalls });
      }
    } catch (err) {
      release({ error: err });
      throw err;
    }
    live.busy++;
    this.touch(live);
    try {
      if (key) await this.deps.store.putExecution(sandboxId, key, { name, fingerprint });
    } catch (err) {
      live.busy--;
      release({ error: err });
      throw err;
    }
    void this.run(live, execution, name, input, timeoutMs, key, cancel, trace);
    return { execution, replayed: false };
  }

  private async run(live: Live, execution: Execution, name: string, input: JsonObject, timeoutMs: number, key: string, cancel: AbortSignal | undefined, trace: Context): Promise<void> {
    const sandboxId = live.sandbox.sandboxId;
    const session = live.sandbox.sessionId ? { [ATTR_SESSION_ID]: live.sandbox.sessionId } : {};
    annotateSpan(session, trace);
    const attributes = { "oma.sandbox.id": sandboxId, "oma.sandbox.backend": live.sandbox.backend, "gen_ai.tool.name": name, ...sessionAttributes(trace), ...session };
    await inSpan("oma.sandbox.execute", { attributes }, (span) => this.runTraced(live, execution, name, input, timeoutMs, key, cancel, (exitCode) => span.setAttribute("process.exit.code", exitCode)), trace);
  }

  private async runTraced(live: Live, execution: Execution, name: string, input: JsonObject, timeoutMs: number, key: string, cancel: AbortSignal | undefined, onExit: (code: number) => void): Promise<void> {
    const sandboxId = live.sandbox.sandboxId;
    const started = performance.now();
    const report = (outcome: "ok" | "error" | "timeout" | "failed") =>
      this.deps.observer?.toolFinished({ tool: name, backend: live.sandbox.backend, outcome, seconds: (performance.now() - started) / 1000 });
    try {
      const result = await runTool(live.env!.runner, name, input, timeoutMs, this.deps.maxOutputBytes, execution, cancel);
      report(result.timedOut ? "timeout" : result.isError ? "error" : "ok");
      onExit(result.exitCode);
      if (key && this.live.has(sandboxId)) await this.deps.store.putExecution(sandboxId, key, { name, fingerprint: execution.fingerprint, result });
      execution.finish(result);
    } catch (err) {
      report("failed");
      if (key && live.executions.get(key) === execution) live.executions.delete(key);
      execution.fail(err);
    } finally {
      live.busy--;
      this.touch(live);
      if (key) {
        const timer = setTimeout(() => {
          if (live.executions.get(key) === execution) live.executions.delete(key);
        }, sandboxBounds.resumeWindowMs);
        timer.unref();
      }
    }
  }

  /** The sandbox if the caller may see it; SANDBOX_NOT_FOUND otherwise, the same as for a missing one. */
  private find(access: Access, sandboxId: string): Live {
    const live = this.live.get(sandboxId);
    if (!live || !reaches(access, live.sandbox)) throw new OmaError("SANDBOX_NOT_FOUND", `no sandbox ${sandboxId}`, { sandbox_id: sandboxId });
    return live;
  }

  private requireReady(live: Live): void {
    if (live.sandbox.state !== SandboxState.READY || !live.env || live.env.runner.closed) {
      throw new OmaError("SANDBOX_LOST", `sandbox ${live.sandbox.sandboxId} is lost: ${live.sandbox.stateDetail || "its environment ended"}`, { sandbox_id: live.sandbox.sandboxId });
    }
  }

  private watch(live: Live): void {
    live.env?.runner.onLost((reason) => {
      if (this.live.get(live.sandbox.sandboxId) === live) void this.markLost(live, reason);
    });
  }

  private async markLost(live: Live, reason: string): Promise<void> {
    if (live.sandbox.state === SandboxState.LOST) return;
    live.sandbox.state = SandboxState.LOST;
    live.sandbox.stateDetail = reason;
    await live.gateway?.close().catch(() => undefined);
    live.gateway = undefined;
    this.deps.log.warn({ sandboxId: live.sandbox.sandboxId, reason }, "sandbox lost");
    await this.deps.store.putSandbox(live.sandbox).catch(() => undefined);
  }

  private touch(live: Live, ttlMs?: number): void {
    const stored = live.sandbox.resources?.idleTtl;
    const ttl = ttlMs ?? (stored ? durationMs(stored) : 0);
    live.sandbox.expireTime = timestampFromMs(Date.now() + ttl);
  }

  private async reapIdle(): Promise<void> {
    const now = Date.now();
    for (const live of [...this.live.values()]) {
      if (this.closing) return;
      if (live.busy > 0 || !live.sandbox.expireTime || timestampMs(live.sandbox.expireTime) > now) continue;
      await this.remove(live.sandbox.sandboxId, "reaped after its idle TTL").catch((err: unknown) => this.deps.log.warn({ err }, "reaping failed"));
    }
  }
}

/**
 * Whether a caller may see a sandbox: its tenant's (sandboxes stored before tenants existed
 * belong to the default tenant), and for a session token only its session's.
 */
function reaches(access: Access, sandbox: Sandbox): boolean {
  return (sandbox.tenant || DEFAULT_TENANT) === access.tenant && (access.sessionId === undefined || sandbox.sessionId === access.sessionId);
}
