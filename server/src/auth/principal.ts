/** What a bearer token may do (SEC-4). */
export type Role = "client" | "worker" | "admin";

export const ROLES: readonly Role[] = ["client", "worker", "admin"];

/** The tenant of a worker pool token: it serves every tenant's sessions. */
export const ANY_TENANT = "*";

/** The tenant of the first admin token and of `--auth none`. */
export const DEFAULT_TENANT = "default";

/** Tenant names: 1–64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A session token's reach: one session of the principal's tenant, for one brain. */
export interface SessionScope {
  readonly sessionId: string;
  readonly harnessId: string;
}

/**
 * Who makes a call, resolved once from its bearer token at the edge and handed to the
 * handlers explicitly. Transport-agnostic: nothing here knows headers or frameworks.
 */
export interface Principal {
  /** The token's id; for a session token, the id of the worker token it was issued under. */
  readonly tokenId: string;
  /** The tenant the call acts in; "*" only for a worker pool token. */
  readonly tenant: string;
  readonly role: Role;
  /** Set for a session token: the call may touch only this session and its sandboxes. */
  readonly scope?: SessionScope;
}

/**
 * What a call may reach, as domain code sees it: one tenant's resources, or (a session
 * token) one session of that tenant and its sandboxes. Anything outside is not found.
 */
export interface Access {
  readonly tenant: string;
  readonly sessionId?: string;
}

export function accessOf(principal: Principal): Access {
  return principal.scope ? { tenant: principal.tenant, sessionId: principal.scope.sessionId } : { tenant: principal.tenant };
}
