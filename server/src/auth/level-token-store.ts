import { randomBytes } from "node:crypto";
import type { Db } from "../part.js";
import { KeyedMutex } from "../store/keyed-mutex.js";
import { StorageHealth } from "../store/storage-health.js";
import { decodeToken as decode, encodeToken as encode } from "./token-encoding.js";
import { notifyRevoked, type TokenRecord, type TokenStore } from "./token-store.js";

/**
 * Tokens on the server's LevelDB: sublevel `auth` holds `tokens` (by id, JSON) and
 * `config` (the signing key). Every write is synced: a created token works and a revoked
 * one stays revoked after a crash.
 */
export class LevelTokenStore implements TokenStore {
  readonly #root;
  readonly #tokens;
  readonly #config;
  readonly #listeners = new Set<(tokenId: string) => void>();
  readonly #mutex = new KeyedMutex();
  #key: Promise<Uint8Array> | undefined;
  readonly #health: StorageHealth;

  constructor(db: Db, health = new StorageHealth()) {
    this.#health = health;
    this.#root = db.sublevel<string, Uint8Array>("auth", { valueEncoding: "view" });
    this.#tokens = this.#root.sublevel<string, Uint8Array>("tokens", { valueEncoding: "view" });
    this.#config = this.#root.sublevel<string, Uint8Array>("config", { valueEncoding: "view" });
  }

  async create(record: TokenRecord): Promise<void> {
    await this.#mutex.run(record.tokenId, async () => {
      if (await this.#tokens.get(record.tokenId)) throw new Error(`token id ${record.tokenId} is taken`);
      await this.#health.write(() => this.#root.batch().put(record.tokenId, encode(record), { sublevel: this.#tokens }).write({ sync: true }));
    });
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    const value = await this.#tokens.get(tokenId);
    return value ? decode(value) : undefined;
  }

  async list(afterId: string | undefined, limit: number): Promise<TokenRecord[]> {
    const values = await this.#tokens.values(afterId === undefined ? { limit } : { gt: afterId, limit }).all();
    return values.map(decode);
  }

  async revoke(tokenId: string, atMs: number): Promise<TokenRecord | undefined> {
    const { record, changed } = await this.#mutex.run(tokenId, async () => {
      const current = await this.get(tokenId);
      if (!current || current.revokeMs !== undefined) return { record: current, changed: false };
      const revoked = { ...current, revokeMs: atMs };
      await this.#health.write(() => this.#root.batch().put(tokenId, encode(revoked), { sublevel: this.#tokens }).write({ sync: true }));
      return { record: revoked, changed: true };
    });
    if (changed) notifyRevoked(this.#listeners, tokenId);
    return record;
  }

  onRevoked(listener: (tokenId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  signingKey(): Promise<Uint8Array> {
    this.#key ??= (async () => {
      const existing = await this.#config.get("signing-key");
      if (existing) return existing;
      const key = randomBytes(32);
      await this.#health.write(() => this.#root.batch().put("signing-key", key, { sublevel: this.#config }).write({ sync: true }));
      return key;
    })();
    return this.#key;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
