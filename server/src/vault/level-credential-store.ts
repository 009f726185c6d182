import type { Db } from "../part.js";
import { KeyedMutex } from "../store/keyed-mutex.js";
import { StorageHealth } from "../store/storage-health.js";
import type { CredentialStore, StoredCredential } from "./credential-store.js";

const encode = (r: StoredCredential): Uint8Array => new TextEncoder().encode(JSON.stringify(r));
const decode = (b: Uint8Array): StoredCredential => JSON.parse(new TextDecoder().decode(b)) as StoredCredential;
/** Tenant names and credential ids never contain "/", so a tenant's keys are one range. */
const keyOf = (tenant: string, credentialId: string) => `${tenant}/${credentialId}`;
const rangeOf = (tenant: string) => ({ gt: `${tenant}/`, lt: `${tenant}/\uffff` });

/**
 * Credentials on the server's LevelDB: sublevel `vault` holds `credentials` (key
 * `<tenant>/<id>`, JSON with the secret sealed) and `config` (the key check). Every write
 * is synced. Writes of one tenant take its lock, so "create if absent and below the
 * bound" is one step.
 */
export class LevelCredentialStore implements CredentialStore {
  readonly #root;
  readonly #credentials;
  readonly #config;
  readonly #mutex = new KeyedMutex();
  readonly #health: StorageHealth;

  constructor(db: Db, health = new StorageHealth()) {
    this.#health = health;
    this.#root = db.sublevel<string, Uint8Array>("vault", { valueEncoding: "view" });
    this.#credentials = this.#root.sublevel<string, Uint8Array>("credentials", { valueEncoding: "view" });
    this.#config = this.#root.sublevel<string, Uint8Array>("config", { valueEncoding: "view" });
  }

  insert(record: StoredCredential, maxPerTenant: number): Promise<"inserted" | "exists" | "full"> {
    return this.#mutex.run(record.tenant, async () => {
      if (await this.#credentials.get(keyOf(record.tenant, record.credentialId))) return "exists";
      let count = 0;
      for await (const _ of this.#credentials.keys(rangeOf(record.tenant))) if (++count >= maxPerTenant) return "full";
      await this.#write(record);
      return "inserted";
    });
  }

  replace(record: StoredCredential): Promise<boolean> {
    return this.#mutex.run(record.tenant, async () => {
      if (!(await this.#credentials.get(keyOf(record.tenant, record.credentialId)))) return false;
      await this.#write(record);
      return true;
    });
  }

  async get(tenant: string, credentialId: string): Promise<StoredCredential | undefined> {
    const value = await this.#credentials.get(keyOf(tenant, credentialId));
    return value ? decode(value) : undefined;
  }

  async list(tenant: string, afterId: string | undefined, limit: number): Promise<StoredCredential[]> {
    const range = afterId === undefined ? rangeOf(tenant) : { ...rangeOf(tenant), gt: keyOf(tenant, afterId) };
    return (await this.#credentials.values({ ...range, limit }).all()).map(decode);
  }

  remove(tenant: string, credentialId: string): Promise<boolean> {
    return this.#mutex.run(tenant, async () => {
      const key = keyOf(tenant, credentialId);
      if (!(await this.#credentials.get(key))) return false;
      await this.#health.write(() => this.#root.batch().del(key, { sublevel: this.#credentials }).write({ sync: true }));
      return true;
    });
  }

  bindKey(check: Uint8Array): Promise<boolean> {
    return this.#mutex.run("\0key-check", async () => {
      const recorded = await this.#config.get("key-check");
      if (recorded) return Buffer.from(recorded).equals(Buffer.from(check));
      await this.#health.write(() => this.#root.batch().put("key-check", check, { sublevel: this.#config }).write({ sync: true }));
      return true;
    });
  }

  async close(): Promise<void> {}

  async #write(record: StoredCredential): Promise<void> {
    await this.#health.write(() => this.#root.batch().put(keyOf(record.tenant, record.credentialId), encode(record), { sublevel: this.#credentials }).write({ sync: true }));
  }
}
