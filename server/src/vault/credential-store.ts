import type { CredentialInfo } from "./credential.js";
import type { SealedSecret } from "./sealed-secret.js";

/** A credential as stored: its public fields and its sealed secret. */
export interface StoredCredential extends CredentialInfo {
  readonly sealed: SealedSecret;
}

/**
 * Where credentials live. Conditional writes belong to the store (create if absent,
 * replace if present), so that several servers on one shared store keep the same rules;
 * nothing about a credential lives only in one process's memory. LevelDB (embedded) and
 * memory implement it; `credential-store.contract.ts` holds the rules both pass.
 */
export interface CredentialStore {
  /**
   * Stores a new credential unless its id is taken in its tenant ("exists") or the tenant
   * already holds `maxPerTenant` ("full"); either way nothing is written.
   */
  insert(record: StoredCredential, maxPerTenant: number): Promise<"inserted" | "exists" | "full">;
  /** Replaces an existing credential; false (and nothing written) when there is none. */
  replace(record: StoredCredential): Promise<boolean>;
  get(tenant: string, credentialId: string): Promise<StoredCredential | undefined>;
  /** A tenant's credentials ordered by id, strictly after `afterId`, at most `limit`. */
  list(tenant: string, afterId: string | undefined, limit: number): Promise<StoredCredential[]>;
  /** Deletes a credential; false when there was none. */
  remove(tenant: string, credentialId: string): Promise<boolean>;
  /**
   * Records the vault key's check value on first use and answers whether `check` is the
   * one recorded: false means the store was written with another key.
   */
  bindKey(check: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}
