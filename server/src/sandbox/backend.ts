import type { RunnerConnection } from "./runner-connection.js";

export type BackendName = "docker" | "gvisor" | "bubblewrap" | "process";
export const BACKEND_NAMES: readonly BackendName[] = ["docker", "gvisor", "bubblewrap", "process"];

export type NetworkAccess = "none" | "full";

/** Hardening switches; false everywhere is the strict default. */
export interface SecuritySwitches {
  readonly runAsRoot: boolean;
  readonly writableRoot: boolean;
  readonly keepCapabilities: boolean;
  readonly allowPrivilegeEscalation: boolean;
}

/** What a backend needs to start one sandbox, every default already applied. */
export interface SandboxSpec {
  readonly sandboxId: string;
  /** This server's instance id; environments are labelled with it to find orphans. */
  readonly serverInstance: string;
  /** Host directory that becomes the sandbox's workspace; exists and is empty. */
  readonly workspaceDir: string;
  /** Backend image; empty means the backend's default. */
  readonly image: string;
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly diskBytes: number;
  readonly network: NetworkAccess;
  readonly env: Readonly<Record<string, string>>;
  readonly security: SecuritySwitches;
  /** The sandbox's gateway (repositories, allowed egress), when it has one; see gateway-wiring.ts. */
  readonly gateway?: GatewaySpec;
}

/** Where a sandbox's gateway socket lives on the host, and whether the sandbox may use it as its HTTP proxy. */
export interface GatewaySpec {
  /** Host directory holding the gateway's socket; mounted read-only at GATEWAY_MOUNT. */
  readonly hostDir: string;
  /** True with NETWORK_MODE_ALLOW_LIST: HTTP_PROXY and friends name the gateway. */
  readonly egress: boolean;
}

/** How to find a running environment again after a server restart (stored with the sandbox). */
export type EnvironmentRef = Readonly<Record<string, string>>;

/** A running sandbox environment with its tool runner connected. */
export interface SandboxEnvironment {
  readonly runner: RunnerConnection;
  /** Persisted so a restarted server can re-attach or reap it. */
  readonly ref: EnvironmentRef;
  /** Ends the environment and deletes what it left; idempotent. */
  destroy(): Promise<void>;
  /** Ends the server's connection but leaves the environment running (docker only). */
  detach(): Promise<void>;
}

/** Whether a backend works on this machine, and why not. */
export interface BackendStatus {
  readonly available: boolean;
  readonly detail: string;
}

/**
 * A way to run sandboxes: docker containers, bubblewrap namespaces or plain processes.
 * Each runs the same tool runner; they differ in what they isolate and how.
 */
export interface SandboxBackend {
  readonly name: BackendName;
  /** False for a backend that isolates nothing (process); excluded from SEC-2. */
  readonly isolated: boolean;
  /** Whether it can wire a gateway in (a private loopback and a mount): repositories and allow-lists need it. */
  readonly gateway: boolean;
  /** Host uid that must own the workspace (undefined: the server's own). */
  readonly sandboxUid: number | undefined;
  /**
   * Whether a writable root (SandboxSecurity.writable_root) keeps its writes in memory,
   * charged to the sandbox's memory limit (bubblewrap's tmpfs root, gVisor's root overlay),
   * rather than on the host's disk outside disk_bytes (runc's container layer).
   */
  readonly writableRootInMemory: boolean;
  /** True when its environments outlive the server to be re-attached (docker); false when they end with it. */
  readonly survivesRestart: boolean;
  /** Checks the machine once (engine answering, image present, bwrap usable). */
  probe(): Promise<BackendStatus>;
  create(spec: SandboxSpec): Promise<SandboxEnvironment>;
  /** Re-connects to an environment left by a previous server run; undefined if it is gone. */
  reattach(sandboxId: string, ref: EnvironmentRef, workspaceDir: string): Promise<SandboxEnvironment | undefined>;
  /** Ends environments of this server instance that are not in `keep`; returns how many. */
  reapOrphans(serverInstance: string, keep: ReadonlySet<string>): Promise<number>;
}
