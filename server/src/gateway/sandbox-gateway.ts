import * as http from "node:http";
import type { Socket } from "node:net";
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import { credentialNotFound, type Vault } from "../vault/vault.js";
import type { AllowEntry } from "./egress-allow-list.js";
import { forwardHttp, tunnel, type EgressContext } from "./egress-route.js";
import type { GatewayAudit } from "./gateway-audit.js";
import { routeGit, type GitRouteContext } from "./git-route.js";
import type { OutboundPolicy } from "./outbound-policy.js";
import { answer } from "./upstream-request.js";
import { credentialMismatch, gatewayRouteOf, type WiredRepository } from "./wired-repository.js";

/** The socket's name in a sandbox's gateway directory. */
/**
 * The gateway's directory beside a sandbox's workspace, and its socket there: short names,
 * because the whole path must fit a Unix socket address (107 bytes) under workspace roots
 * that are themselves under a temp dir.
 */
export const GATEWAY_DIR = "gw";
export const GATEWAY_SOCKET = "gw.sock";
/** Longest path a Unix socket can have on Linux (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
/** Where a sandbox reaches its gateway: the tool runner forwards this loopback port to the socket. */
export const GATEWAY_PORT = 3128;

/** What one sandbox's gateway serves: its repositories and its egress. */
export interface GatewayPlan {
  readonly sandboxId: string;
  readonly tenant: string;
  readonly repositories: readonly WiredRepository[];
  /** Undefined: no egress (NETWORK_MODE_NONE); every CONNECT is refused and counted. */
  readonly allowList: readonly AllowEntry[] | undefined;
}

/** A running gateway; closing it removes its socket. */
export interface GatewayHandle {
  /** The host directory holding the socket; a backend mounts it into the sandbox. */
  readonly hostDir: string;
  close(): Promise<void>;
}

/**
 * The sandboxes' way out, outside them: one HTTP server per sandbox on a Unix socket in a
 * directory only that sandbox has mounted. Who calls is known by which socket the call
 * came in on, which no sandbox can forge for another; nothing the sandbox sends (headers,
 * paths) names it. It serves git's smart HTTP for the wired repositories, adding each
 * one's credential from the vault, and (with an allow-list) plain HTTP and CONNECT to the
 * listed hosts. Everything else is refused, and refusals are logged and counted.
 */
export class SandboxGateways {
  readonly #vault: Vault;
  readonly #policy: OutboundPolicy;
  readonly #audit: GatewayAudit;
  readonly #log: Logger;

  constructor(deps: { vault: Vault; policy: OutboundPolicy; audit: GatewayAudit; logger: Logger }) {
    this.#vault = deps.vault;
    this.#policy = deps.policy;
    this.#audit = deps.audit;
    this.#log = deps.logger;
  }

  get audit(): GatewayAudit {
    return this.#audit;
  }

  /**
   * The repositories of a recipe as the gateway serves them, each credential checked now:
   * one the tenant does not have is CREDENTIAL_NOT_FOUND, one that may not be sent to the
   * repository's URL is INVALID_FIELD (both naming the field). The gateway checks again at
   * every request: a credential can be replaced or deleted meanwhile.
   */
  async wire(tenant: string, repositories: readonly { url: string; credentialId: string }[]): Promise<WiredRepository[]> {
    const wired: WiredRepository[] = [];
    for (const [i, r] of repositories.entries()) {
      const field = `resources.repositories[${i}].credential_id`;
      const url = new URL(r.url);
      if (r.credentialId) {
        const credential = await this.#vault.exists(tenant, r.credentialId);
        if (!credential) throw credentialNotFound(r.credentialId, field);
        const mismatch = credentialMismatch(credential.target, url);
        if (mismatch) throw invalidField(field, "credential_target", `credential ${r.credentialId} may not be sent to ${url.host}: ${mismatch}`, { credential_id: r.credentialId });
      }
      wired.push({ url: r.url, credentialId: r.credentialId, route: gatewayRouteOf(url) });
    }
    return wired;
  }

  /** The same, for a sandbox re-attached after a restart: nothing is checked until a request comes. */
  static routesOf(repositories: readonly { url: string; credentialId: string }[]): WiredRepository[] {
    return repositories.map((r) => ({ url: r.url, credentialId: r.credentialId, route: gatewayRouteOf(new URL(r.url)) }));
  }

  /**
   * Serves `plan` on `<hostDir>/gw.sock`. The directory is created mode 0700 and
   * handed to `ownerUid` (the sandbox's host user), so that user and root alone can reach
   * the socket: exactly who can reach the sandbox's workspace. A socket left by an earlier
   * run (a re-attached container) is replaced.
   */
  async open(plan: GatewayPlan, hostDir: string, ownerUid: number | undefined): Promise<GatewayHandle> {
    await mkdir(hostDir, { recursive: true, mode: 0o700 });
    if (ownerUid !== undefined && process.getuid?.() === 0) await chown(hostDir, ownerUid, ownerUid);
    const socketPath = join(hostDir, GATEWAY_SOCKET);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new OmaError("BACKEND_UNAVAILABLE", `the gateway's socket path would be ${Buffer.byteLength(socketPath)} bytes, more than a Unix socket allows; use a shorter OMA_SANDBOX_ROOT`, { limit: MAX_SOCKET_PATH_BYTES });
    }
    await rm(socketPath, { force: true });
    const git: GitRouteContext = { ...plan, vault: this.#vault, policy: this.#policy, audit: this.#audit, log: this.#log };
    const egress: EgressContext = { ...plan, policy: this.#policy, audit: this.#audit, log: this.#log };
    const server = http.createServer((req, res) => void this.#request(req, res, git, egress).catch((err: unknown) => {
      this.#log.error({ err, sandboxId: plan.sandboxId }, "gateway request failed");
      answer(res, 500, "internal error");
    }));
    server.on("connect", (req: http.IncomingMessage, socket: Socket, head: Buffer) => tunnel(req, socket, head, egress));
    const sockets = new Set<Socket>();
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // The directory is the access control; the socket itself is open to whoever reaches it.
    await chmod(socketPath, 0o666);
    return {
      hostDir,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        await rm(socketPath, { force: true });
      },
    };
  }

  async #request(req: http.IncomingMessage, res: http.ServerResponse, git: GitRouteContext, egress: EgressContext): Promise<void> {
    const target = req.url ?? "/";
    if (/^[a-z]+:\/\//i.test(target)) {
      // Absolute form: a proxy request (HTTP_PROXY), unless it names the gateway itself.
      const url = new URL(target);
      if ((url.hostname === "127.0.0.1" || url.hostname === "localhost") && Number(url.port) === GATEWAY_PORT) return this.#request(Object.assign(req, { url: `${url.pathname}${url.search}` }), res, git, egress);
      return forwardHttp(req, res, url, egress);
    }
    if (target.startsWith("/git/")) return routeGit(req, res, target, git);
    answer(res, 404, "nothing here; the gateway serves the wired repositories under /git/ and is the HTTP proxy of an allow-listed sandbox");
  }
}
