import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/** A secret encrypted with AES-256-GCM: a fresh 96-bit nonce, the ciphertext and its tag, base64. */
export interface SealedSecret {
  readonly iv: string;
  readonly data: string;
  readonly tag: string;
}

const ALGORITHM = "aes-256-gcm";
export const VAULT_KEY_BYTES = 32;

/**
 * Seals and opens secrets with the vault key. The additional data binds each ciphertext
 * to the record it belongs to (tenant and credential id), so a sealed secret copied into
 * another record, or another tenant's, does not open.
 */
export class SecretSealer {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== VAULT_KEY_BYTES) throw new Error(`the vault key must be ${VAULT_KEY_BYTES} bytes`);
    this.#key = key;
  }

  seal(secret: string, boundTo: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    cipher.setAAD(Buffer.from(boundTo, "utf8"));
    const data = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return { iv: iv.toString("base64"), data: data.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
  }

  /** The secret, or undefined when the record was altered, moved, or sealed with another key. */
  open(sealed: SealedSecret, boundTo: string): string | undefined {
    try {
      const decipher = createDecipheriv(ALGORITHM, this.#key, Buffer.from(sealed.iv, "base64"));
      decipher.setAAD(Buffer.from(boundTo, "utf8"));
      decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8");
    } catch {
      return undefined;
    }
  }

  /** A value that tells whether a store was written with this key, without revealing it. */
  keyCheck(): Uint8Array {
    return createHmac("sha256", this.#key).update("oma-vault-key-check").digest();
  }
}

/** What a sealed secret is bound to: its tenant and credential id. */
export function sealBinding(tenant: string, credentialId: string): string {
  return `${tenant}/${credentialId}`;
}
