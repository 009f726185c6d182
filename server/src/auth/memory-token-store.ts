import { randomBytes } from "node:crypto";
import { notifyRevoked, type TokenRecord, type TokenStore } from "./token-store.js";

/** TokenStore in memory, for unit tests and servers without a data directory. */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #listeners = new Set<(tokenId: string) => void>();
  readonly #key = randomBytes(32);

  async create(record: TokenRecord): Promise<void> {
    if (this.#tokens.has(record.tokenId)) throw new Error(`token id ${record.tokenId} is taken`);
    this.#tokens.set(record.tokenId, record);
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    return this.#tokens.get(tokenId);
  }

  async list(afterId: string | undefined, limit: number): Promise<TokenRecord[]> {
    return [...this.#tokens.values()]
      .filter((t) => afterId === undefined || t.tokenId > afterId)
      .sort((a, b) => (a.tokenId < b.tokenId ? -1 : 1))
      .slice(0, limit);
  }

  async revoke(tokenId: string, atMs: number): Promise<TokenRecord | undefined> {
    const record = this.#tokens.get(tokenId);
    if (!record || record.revokeMs !== undefined) return record;
    const revoked = { ...record, revokeMs: atMs };
    this.#tokens.set(tokenId, revoked);
    notifyRevoked(this.#listeners, tokenId);
    return revoked;
  }

  onRevoked(listener: (tokenId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async signingKey(): Promise<Uint8Array> {
    return this.#key;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
