import { randomBytes } from "node:crypto";
import { OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { CredentialInfo, CredentialTarget, RevealedCredential } from "./credential.js";
import type { CredentialStore, StoredCredential } from "./credential-store.js";
import { sealBinding, type SecretSealer } from "./sealed-secret.js";

/** What a client gives to create or replace a credential (already validated). */
export interface CredentialInput {
  readonly credentialId: string;
  readonly displayName: string;
  readonly target: CredentialTarget;
  readonly secret: string;
}

/** Bounds of the vault (the proto comments state the same numbers). */
export const vaultBounds = {
  /** Most credentials one tenant keeps; CreateCredential beyond is LIMIT_REACHED. */
  maxCredentialsPerTenant: 1000,
} as const;

const notFound = (credentialId: string, field?: string) =>
  new OmaError("CREDENTIAL_NOT_FOUND", `no credential ${credentialId}`, { credential_id: credentialId, ...(field ? { field } : {}) });

/**
 * A tenant-scoped, write-only vault (SEC-11): secrets go in sealed with the vault key and
 * come out only through `reveal`, which only the server's proxies call. Every lookup
 * reads the store, so a replaced secret is used by the very next request.
 */
export class Vault {
  readonly #store: CredentialStore;
  readonly #sealer: SecretSealer;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #maxPerTenant: number;

  constructor(deps: { store: CredentialStore; sealer: SecretSealer; logger: Logger; now?: () => number; maxPerTenant?: number }) {
    this.#store = deps.store;
    this.#sealer = deps.sealer;
    this.#log = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#maxPerTenant = deps.maxPerTenant ?? vaultBounds.maxCredentialsPerTenant;
  }

  async create(tenant: string, input: CredentialInput): Promise<CredentialInfo> {
    const credentialId = input.credentialId || `cred_${randomBytes(12).toString("hex")}`;
    const now = this.#now();
    const record = this.#record(tenant, { ...input, credentialId }, now, now);
    const outcome = await this.#store.insert(record, this.#maxPerTenant);
    if (outcome === "exists") throw new OmaError("CREDENTIAL_EXISTS", `credential ${credentialId} exists`, { credential_id: credentialId });
    if (outcome === "full") {
      throw new OmaError("LIMIT_REACHED", `a tenant keeps at most ${this.#maxPerTenant} credentials; delete some first`, { limit: "credentials_per_tenant", limit_count: this.#maxPerTenant });
    }
    return publicView(record);
  }

  async get(tenant: string, credentialId: string): Promise<CredentialInfo> {
    const record = await this.#store.get(tenant, credentialId);
    if (!record) throw notFound(credentialId);
    return publicView(record);
  }

  /** Whether the tenant has this credential (for checks at provisioning and session creation). */
  async exists(tenant: string, credentialId: string): Promise<CredentialInfo | undefined> {
    const record = await this.#store.get(tenant, credentialId);
    return record ? publicView(record) : undefined;
  }

  async list(tenant: string, afterId: string | undefined, limit: number): Promise<CredentialInfo[]> {
    return (await this.#store.list(tenant, afterId, limit)).map(publicView);
  }

  async update(tenant: string, input: CredentialInput): Promise<CredentialInfo> {
    const current = await this.#store.get(tenant, input.credentialId);
    if (!current) throw notFound(input.credentialId);
    const record = this.#record(tenant, input, current.createMs, Math.max(this.#now(), current.updateMs));
    if (!(await this.#store.replace(record))) throw notFound(input.credentialId);
    this.#log.info({ tenant, credentialId: input.credentialId, kind: input.target.kind }, "credential replaced");
    return publicView(record);
  }

  async delete(tenant: string, credentialId: string): Promise<void> {
    if (!(await this.#store.remove(tenant, credentialId))) throw notFound(credentialId);
    this.#log.info({ tenant, credentialId }, "credential deleted");
  }

  /**
   * The credential with its secret, for a proxy about to forward one request; undefined
   * when the tenant has no such credential (deleted since it was wired). A record that
   * does not open (altered, or sealed with another key) is logged and treated as missing.
   */
  async reveal(tenant: string, credentialId: string): Promise<RevealedCredential | undefined> {
    const record = await this.#store.get(tenant, credentialId);
    if (!record) return undefined;
    const secret = this.#sealer.open(record.sealed, sealBinding(tenant, credentialId));
    if (secret === undefined) {
      this.#log.error({ tenant, credentialId }, "a stored credential does not decrypt with the vault key (altered or sealed with another key); refusing to use it");
      return undefined;
    }
    return { ...publicView(record), secret };
  }

  #record(tenant: string, input: CredentialInput, createMs: number, updateMs: number): StoredCredential {
    return {
      tenant,
      credentialId: input.credentialId,
      displayName: input.displayName,
      target: input.target,
      createMs,
      updateMs,
      sealed: this.#sealer.seal(input.secret, sealBinding(tenant, input.credentialId)),
    };
  }
}

function publicView(r: StoredCredential): CredentialInfo {
  return { tenant: r.tenant, credentialId: r.credentialId, displayName: r.displayName, target: r.target, createMs: r.createMs, updateMs: r.updateMs };
}

export { notFound as credentialNotFound };
