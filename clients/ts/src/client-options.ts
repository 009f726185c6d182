import type { Interceptor, Transport } from "@connectrpc/connect";
import { bearerAuth, actAsTenant, omaErrors, type TokenSource } from "./interceptors.js";

/** The wire protocols an OMA server speaks on its one port (WIRE-1). */
export type OmaProtocol = "grpc" | "connect" | "grpc-web";

export interface OmaClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7070`. Required unless `transport` is given. */
  baseUrl?: string;
  /** Bearer token sent as `authorization: Bearer <token>` on every call. */
  token?: TokenSource;
  /** With an admin token: the tenant to act in, sent as the `oma-tenant` header (SEC-4). */
  tenant?: string;
  /** Wire protocol. The browser entry supports "connect" (default) and "grpc-web"; the node entry all three (default "grpc"). */
  protocol?: OmaProtocol;
  /** More interceptors, run after the token and error interceptors. */
  interceptors?: Interceptor[];
  /**
   * A ready transport instead of baseUrl/protocol. Its own interceptors apply as they are:
   * add `bearerAuth(token)` and `omaErrors()` to it yourself; `token` is refused here so
   * that a token is never silently dropped.
   */
  transport?: Transport;
}

/** The interceptors every built-in transport gets: token first, then OMA errors, then the caller's. */
export function standardInterceptors(options: OmaClientOptions): Interceptor[] {
  return [
    ...(options.token === undefined ? [] : [bearerAuth(options.token)]),
    ...(options.tenant === undefined ? [] : [actAsTenant(options.tenant)]),
    omaErrors(),
    ...(options.interceptors ?? []),
  ];
}

/** Checks the options and returns the given transport, or the base URL to build one for. */
export function resolveTransportTarget(options: OmaClientOptions): { transport: Transport } | { baseUrl: string } {
  if (options.transport) {
    if (options.token !== undefined) throw new TypeError("createOmaClient: with `transport`, add bearerAuth(token) to the transport's interceptors instead of passing `token`");
    if (options.tenant !== undefined) throw new TypeError("createOmaClient: with `transport`, add actAsTenant(tenant) to the transport's interceptors instead of passing `tenant`");
    return { transport: options.transport };
  }
  if (!options.baseUrl) throw new TypeError("createOmaClient: `baseUrl` is required when no `transport` is given");
  return { baseUrl: options.baseUrl };
}
