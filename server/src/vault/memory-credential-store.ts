import type { CredentialStore, StoredCredential } from "./credential-store.js";

/** CredentialStore in memory, for unit tests. */
export class MemoryCredentialStore implements CredentialStore {
  readonly #records = new Map<string, StoredCredential>();
  #keyCheck: Uint8Array | undefined;

  async insert(record: StoredCredential, maxPerTenant: number): Promise<"inserted" | "exists" | "full"> {
    const key = `${record.tenant}/${record.credentialId}`;
    if (this.#records.has(key)) return "exists";
    if (this.#ofTenant(record.tenant).length >= maxPerTenant) return "full";
    this.#records.set(key, record);
    return "inserted";
  }

  async replace(record: StoredCredential): Promise<boolean> {
    const key = `${record.tenant}/${record.credentialId}`;
    if (!this.#records.has(key)) return false;
    this.#records.set(key, record);
    return true;
  }

  async get(tenant: string, credentialId: string): Promise<StoredCredential | undefined> {
    return this.#records.get(`${tenant}/${credentialId}`);
  }

  async list(tenant: string, afterId: string | undefined, limit: number): Promise<StoredCredential[]> {
    return this.#ofTenant(tenant)
      .filter((r) => afterId === undefined || r.credentialId > afterId)
      .slice(0, limit);
  }

  async remove(tenant: string, credentialId: string): Promise<boolean> {
    return this.#records.delete(`${tenant}/${credentialId}`);
  }

  async bindKey(check: Uint8Array): Promise<boolean> {
    if (!this.#keyCheck) {
      this.#keyCheck = check;
      return true;
    }
    return Buffer.from(this.#keyCheck).equals(Buffer.from(check));
  }

  async close(): Promise<void> {}

  #ofTenant(tenant: string): StoredCredential[] {
    return [...this.#records.values()].filter((r) => r.tenant === tenant).sort((a, b) => (a.credentialId < b.credentialId ? -1 : 1));
  }
}
