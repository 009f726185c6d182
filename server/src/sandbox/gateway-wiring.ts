import { join } from "node:path";
import { GATEWAY_PORT, GATEWAY_SOCKET } from "../gateway/sandbox-gateway.js";
import type { GatewaySpec } from "./backend.js";

/** Where every backend mounts a sandbox's gateway directory (read-only). */
export const GATEWAY_MOUNT = "/run/oma";

/** The gateway's address inside the sandbox. */
export const GATEWAY_URL = `http://127.0.0.1:${GATEWAY_PORT}`;

/**
 * How a sandbox is wired to its gateway, the same for every backend that can: mount the
 * host directory read-only at /run/oma, tell the tool runner to forward its loopback port
 * to the socket there, and (allow-list only) name it as the HTTP proxy. Backends call
 * these and nothing else, so another backend (or hardening) reuses the wiring as it is.
 */
export const gatewayWiring = {
  /** The runner's extra argument. */
  runnerArgs(g: GatewaySpec | undefined): string[] {
    return g ? [`gateway=${join(GATEWAY_MOUNT, GATEWAY_SOCKET)}@${GATEWAY_PORT}`] : [];
  },
  /** Environment variables for the sandbox. */
  env(g: GatewaySpec | undefined): Record<string, string> {
    if (!g?.egress) return {};
    const noProxy = "127.0.0.1,localhost,::1";
    return { HTTP_PROXY: GATEWAY_URL, HTTPS_PROXY: GATEWAY_URL, http_proxy: GATEWAY_URL, https_proxy: GATEWAY_URL, NO_PROXY: noProxy, no_proxy: noProxy };
  },
  /** Docker bind mounts. */
  dockerBinds(g: GatewaySpec | undefined): string[] {
    return g ? [`${g.hostDir}:${GATEWAY_MOUNT}:ro`] : [];
  },
  /** bubblewrap arguments. */
  bwrapArgs(g: GatewaySpec | undefined): string[] {
    return g ? ["--ro-bind", g.hostDir, GATEWAY_MOUNT] : [];
  },
};
