import type { Role } from "./principal.js";
import type { TokenRecord } from "./token-store.js";

/** A token record as stored: JSON with the hash in hex. */
interface StoredToken {
  readonly tokenId: string;
  readonly tenant: string;
  readonly role: Role;
  readonly description: string;
  readonly hash: string;
  readonly createMs: number;
  readonly revokeMs?: number;
}

export const encodeToken = (r: TokenRecord): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ ...r, hash: Buffer.from(r.hash).toString("hex") } satisfies StoredToken));

export function decodeToken(bytes: Uint8Array): TokenRecord {
  const s = JSON.parse(new TextDecoder().decode(bytes)) as StoredToken;
  return { ...s, hash: Buffer.from(s.hash, "hex") };
}
