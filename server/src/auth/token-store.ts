import type { Role } from "./principal.js";

/** A bearer token as the server keeps it: never the secret, only its hash. */
export interface TokenRecord {
  readonly tokenId: string;
  readonly tenant: string;
  readonly role: Role;
  readonly description: string;
  /** SHA-256 of the whole bearer token. */
  readonly hash: Uint8Array;
  readonly createMs: number;
  /** Set once the token is revoked. */
  readonly revokeMs?: number;
}

/**
 * Where tokens live. Every server that authenticates against the same store sees the
 * same tokens: nothing about a token may live only in one process's memory, except
 * caches that `onRevoked` invalidates. LevelDB (embedded) and memory implement it.
 */
export interface TokenStore {
  /** Stores a new token; the id is fresh (random), so an existing one is never replaced. */
  create(record: TokenRecord): Promise<void>;
  get(tokenId: string): Promise<TokenRecord | undefined>;
  /** Tokens ordered by id, strictly after `afterId`, at most `limit`. */
  list(afterId: string | undefined, limit: number): Promise<TokenRecord[]>;
  /** Marks the token revoked (once: a second revoke keeps the first time); undefined if unknown. */
  revoke(tokenId: string, atMs: number): Promise<TokenRecord | undefined>;
  /**
   * Calls `listener` with the id of every token revoked from now on, by this server or
   * (for a shared store) by another. Returns the unsubscribe function.
   */
  onRevoked(listener: (tokenId: string) => void): () => void;
  /**
   * A 32-byte secret shared by every server on this store, created on first use; it signs
   * session tokens and page tokens.
   */
  signingKey(): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Calls every listener; one that throws does not stop the others. */
export function notifyRevoked(listeners: ReadonlySet<(tokenId: string) => void>, tokenId: string): void {
  for (const listener of listeners) {
    try {
      listener(tokenId);
    } catch {
      // A listener's fault is its own; revocation must reach the rest.
    }
  }
}
