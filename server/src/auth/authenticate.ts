import { OmaError } from "../errors/oma-error.js";
import { bearerMatches, bearerTokenId } from "./bearer-token.js";
import { DEFAULT_TENANT, TENANT_PATTERN, type Principal } from "./principal.js";
import { SessionTokens } from "./session-token.js";
import type { TokenRecord, TokenStore } from "./token-store.js";

/** Request headers as any transport exposes them (Fetch `Headers`, gRPC metadata wrapped). */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** "tokens": every call needs a valid bearer token. "none": development only, every call is an admin. */
export type AuthMode = "tokens" | "none";

/** The header an admin names the tenant it acts in with (SEC-4). */
export const TENANT_HEADER = "oma-tenant";

/** How many verified bearer tokens one process remembers; beyond it, each is checked against its hash. */
const MAX_VERIFIED_BEARERS = 10_000;

const unauthenticated = (cause: string, message: string) => new OmaError("UNAUTHENTICATED", message, { cause });

/**
 * Resolves a call's principal from its headers, once, at the edge: `authorization: Bearer
 * <token>` (an API token or a session token) and, for admins, `oma-tenant`. Valid tokens
 * are cached by id, and an API bearer token once verified against its hash is known by
 * sight (in this process's memory only; the store keeps hashes alone), so a client's
 * every later call costs one map lookup. The store's revocation feed drops a token from
 * both caches and ends the calls that watch it, so a revocation takes effect at once.
 */
export class Authenticator {
  readonly mode: AuthMode;
  readonly #store: TokenStore;
  readonly #sessionTokens: SessionTokens;
  readonly #now: () => number;
  readonly #cache = new Map<string, TokenRecord>();
  /** Bearer token → its principal, for API tokens verified by this process and not revoked. */
  readonly #verified = new Map<string, Principal>();
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #unsubscribe: () => void;
  /** Counts revocations, so a lookup that raced one does not cache what it read. */
  #revocations = 0;

  constructor(deps: { store: TokenStore; sessionTokens: SessionTokens; mode: AuthMode; now?: () => number }) {
    this.mode = deps.mode;
    this.#store = deps.store;
    this.#sessionTokens = deps.sessionTokens;
    this.#now = deps.now ?? Date.now;
    this.#unsubscribe = this.#store.onRevoked((tokenId) => {
      this.#revocations++;
      this.#cache.delete(tokenId);
      for (const [bearer, principal] of this.#verified) if (principal.tokenId === tokenId) this.#verified.delete(bearer);
      const watchers = this.#watchers.get(tokenId);
      this.#watchers.delete(tokenId);
      for (const fire of watchers ?? []) fire();
    });
  }

  /** The principal of a call, or UNAUTHENTICATED / PERMISSION_DENIED. */
  async authenticate(headers: HeaderLookup): Promise<Principal> {
    const tenantHeader = headers.get(TENANT_HEADER) ?? undefined;
    if (tenantHeader !== undefined && !TENANT_PATTERN.test(tenantHeader)) {
      throw new OmaError("INVALID_FIELD", `${TENANT_HEADER}: not a tenant name`, { field: TENANT_HEADER, constraint: "tenant_grammar" });
    }
    if (this.mode === "none") return { tokenId: "", tenant: tenantHeader ?? DEFAULT_TENANT, role: "admin" };
    const bearer = bearerOf(headers.get("authorization"));
    const principal = SessionTokens.isSessionToken(bearer) ? await this.#sessionPrincipal(bearer) : await this.#apiPrincipal(bearer);
    if (tenantHeader === undefined || tenantHeader === principal.tenant) return principal;
    if (principal.role === "admin") return { ...principal, tenant: tenantHeader };
    throw new OmaError("PERMISSION_DENIED", `only an admin token may act in another tenant (${TENANT_HEADER})`, { role: principal.role });
  }

  /**
   * Calls `onRevoked` once if the token behind the principal is revoked (for a session
   * token: its parent worker token). Returns a function that stops watching.
   */
  watchRevocation(principal: Principal, onRevoked: () => void): () => void {
    if (this.mode === "none") return () => undefined;
    let set = this.#watchers.get(principal.tokenId);
    if (!set) this.#watchers.set(principal.tokenId, (set = new Set()));
    const watcher = () => onRevoked();
    set.add(watcher);
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.#watchers.get(principal.tokenId) === set) this.#watchers.delete(principal.tokenId);
    };
  }

  close(): void {
    this.#unsubscribe();
    this.#watchers.clear();
  }

  async #apiPrincipal(bearer: string): Promise<Principal> {
    const known = this.#verified.get(bearer);
    if (known) return known;
    const tokenId = bearerTokenId(bearer);
    if (tokenId === undefined) throw unauthenticated("malformed", "the bearer token is not an OMA token");
    const revocations = this.#revocations;
    const record = await this.#record(tokenId);
    if (!record || !bearerMatches(bearer, record.hash)) throw unauthenticated("unknown", "the bearer token is not known to this server");
    if (record.revokeMs !== undefined) throw unauthenticated("revoked", "the bearer token was revoked");
    const principal: Principal = { tokenId: record.tokenId, tenant: record.tenant, role: record.role };
    // Only the true bearer of a valid token gets here (it matched the hash), so the map
    // holds at most one entry per token; the bound is against a store with very many.
    if (revocations === this.#revocations && this.#verified.size < MAX_VERIFIED_BEARERS) this.#verified.set(bearer, principal);
    return principal;
  }

  async #sessionPrincipal(bearer: string): Promise<Principal> {
    const claims = this.#sessionTokens.open(bearer);
    if (!claims) throw unauthenticated("unknown", "the session token was not issued by this server");
    if (claims.expireMs <= this.#now()) throw unauthenticated("expired", "the session token expired; a brain renews it with RenewLease");
    const parent = await this.#record(claims.parentTokenId);
    if (!parent || parent.revokeMs !== undefined) throw unauthenticated("revoked", "the worker token this session token was issued under was revoked");
    return { tokenId: parent.tokenId, tenant: claims.tenant, role: "worker", scope: { sessionId: claims.sessionId, harnessId: claims.harnessId } };
  }

  async #record(tokenId: string): Promise<TokenRecord | undefined> {
    const cached = this.#cache.get(tokenId);
    if (cached) return cached;
    const revocations = this.#revocations;
    const record = await this.#store.get(tokenId);
    // Only valid tokens are cached, and only if no revocation came in meanwhile: revoked
    // ones leave through the feed, unknown ids are not kept (anyone could fill the cache).
    if (record && record.revokeMs === undefined && revocations === this.#revocations) this.#cache.set(tokenId, record);
    return record;
  }
}

function bearerOf(header: string | null): string {
  if (header === null || header === "") throw unauthenticated("missing", "this call needs a bearer token (authorization: Bearer <token>)");
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthenticated("malformed", "the authorization header is not `Bearer <token>`");
  return match[1]!;
}
