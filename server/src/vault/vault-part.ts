import type { Db, PartContext, ServerPart } from "../part.js";
import type { CredentialStore } from "./credential-store.js";
import { LevelCredentialStore } from "./level-credential-store.js";
import { SecretSealer } from "./sealed-secret.js";
import { loadVaultKey } from "./vault-key.js";
import { Vault } from "./vault.js";
import { createVaultService, vaultValidators } from "./vault-service.js";

/** Features the vault claims in GetServerInfo. */
export const VAULT_FEATURES = ["vault.credentials"] as const;

export interface VaultPart extends ServerPart {
  readonly vault: Vault;
}

/**
 * The vault on the server's LevelDB, its secrets sealed with the vault key (OMA_VAULT_KEY,
 * else `<dataDir>/vault.key`, 0600, created at first start). A store written with
 * another key stops the start with a clear error rather than losing every credential.
 */
export async function openVaultPart(db: Db, ctx: PartContext, options: { store?: CredentialStore } = {}): Promise<VaultPart> {
  const log = ctx.logger.child({ part: "vault" });
  const key = await loadVaultKey(ctx.dataDir);
  if (key.created) log.info({ path: key.source }, `created the vault key ${key.source} (mode 0600); keep it with backups of the data, or set OMA_VAULT_KEY`);
  const sealer = new SecretSealer(key.key);
  const store = options.store ?? new LevelCredentialStore(db, ctx.storage);
  if (!(await store.bindKey(sealer.keyCheck()))) {
    throw new Error(`the vault key from ${key.source} is not the key this server's credentials were sealed with; start with the original key (OMA_VAULT_KEY or the data directory's vault.key)`);
  }
  const vault = new Vault({ store, sealer, logger: log });
  return {
    vault,
    service: { handlers: createVaultService({ vault, paging: ctx.paging }), validators: vaultValidators },
    features: VAULT_FEATURES,
    close: () => store.close(),
  };
}
