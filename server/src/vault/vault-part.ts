import type { Db, PartContext, ServerPart } from "../part.js";
import type { CredentialStore } from "./credential-store.js";
import { LevelCredentialStore } from "./level-credential-store.js";
import { SecretSealer } from "./sealed-secret.js";
import { loadVaultKey, VAULT_KEY_ENV } from "./vault-key.js";
import { Vault } from "./vault.js";
import { createVaultService, vaultValidators } from "./vault-service.js";

/** Features the vault claims in GetServerInfo. */
export const VAULT_FEATURES = ["vault.credentials"] as const;

export interface VaultPart extends ServerPart {
  readonly vault: Vault;
}

export interface VaultPartOptions {
  /** A store of one's own (tests); default: the shared store's bucket, else LevelDB. */
  readonly store?: CredentialStore;
  /** The shared store (`--store nats://…`): credentials live in its KV bucket `OMA_VAULT`. */
  readonly storeUrl?: string;
  /** Where OMA_VAULT_KEY is read (default: the process environment). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The vault, its secrets sealed with the vault key. On the server's LevelDB the key is
 * OMA_VAULT_KEY, else `<dataDir>/vault.key` (0600, created at first start). On a shared
 * store (`storeUrl`) the credentials live in the cluster's bucket, and the key must be
 * OMA_VAULT_KEY, the same on every server: it is never stored beside the sealed secrets.
 * A store written with another key stops the start with a clear error rather than losing
 * every credential.
 */
export async function openVaultPart(db: Db, ctx: PartContext, options: VaultPartOptions = {}): Promise<VaultPart> {
  const log = ctx.logger.child({ part: "vault" });
  const key = await loadVaultKey(ctx.dataDir, options.env ?? process.env, { shared: options.storeUrl !== undefined });
  if (key.created) log.info({ path: key.source }, `created the vault key ${key.source} (mode 0600); keep it with backups of the data, or set OMA_VAULT_KEY`);
  const sealer = new SecretSealer(key.key);
  // The JetStream client is loaded only by a server that keeps its credentials there.
  const store = options.store ?? (options.storeUrl ? await (await import("./jetstream-credential-store.js")).JetStreamCredentialStore.open(options.storeUrl) : new LevelCredentialStore(db, ctx.storage));
  try {
    if (!(await store.bindKey(sealer.keyCheck()))) {
      throw new Error(
        options.storeUrl
          ? `the vault key from ${VAULT_KEY_ENV} is not the key the credentials on the shared store were sealed with: every server on one store must be started with the same ${VAULT_KEY_ENV}`
          : `the vault key from ${key.source} is not the key this server's credentials were sealed with; start with the original key (OMA_VAULT_KEY or the data directory's vault.key)`,
      );
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  const vault = new Vault({ store, sealer, logger: log });
  return {
    vault,
    service: { handlers: createVaultService({ vault, paging: ctx.paging }), validators: vaultValidators },
    features: VAULT_FEATURES,
    close: () => store.close(),
  };
}
