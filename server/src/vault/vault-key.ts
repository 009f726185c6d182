import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VAULT_KEY_BYTES } from "./sealed-secret.js";

/** The key file the server creates in its data directory when OMA_VAULT_KEY is not set. */
export const VAULT_KEY_FILE = "vault.key";
export const VAULT_KEY_ENV = "OMA_VAULT_KEY";

export interface VaultKey {
  readonly key: Uint8Array;
  /** Where it came from, for the log (never the key itself). */
  readonly source: string;
  /** True when this start created the key file. */
  readonly created: boolean;
}

/**
 * The vault key: OMA_VAULT_KEY (32 bytes as 64 hex digits or base64), else
 * `<dataDir>/vault.key`, created at first start with 32 random bytes, mode 0600, never
 * overwritten. A malformed key is an error at start, never a silent new key. With a
 * `shared` store there is no key file: every server must be given the same key, so it
 * must come from OMA_VAULT_KEY.
 */
export async function loadVaultKey(dataDir: string, env: NodeJS.ProcessEnv = process.env, options: { shared?: boolean } = {}): Promise<VaultKey> {
  const fromEnv = env[VAULT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return { key: parseKey(fromEnv, VAULT_KEY_ENV), source: VAULT_KEY_ENV, created: false };
  if (options.shared) {
    throw new Error(`on a shared store (--store nats://…) the vault key must be set in ${VAULT_KEY_ENV}, the same on every server (e.g. \`openssl rand -base64 32\` from your secret manager); it is never kept in the store`);
  }
  const path = join(dataDir, VAULT_KEY_FILE);
  const existing = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (existing !== undefined) return { key: parseKey(existing.trim(), path), source: path, created: false };
  const key = randomBytes(VAULT_KEY_BYTES);
  try {
    await writeFile(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another process created it first: use that one.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadVaultKey(dataDir, env, options);
    throw err;
  }
  return { key, source: path, created: true };
}

function parseKey(text: string, source: string): Uint8Array {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : undefined;
  if (!key || key.length !== VAULT_KEY_BYTES) {
    throw new Error(`${source}: the vault key must be ${VAULT_KEY_BYTES} bytes, as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return key;
}
