import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API bearer tokens: `oma_<token id>.<secret>`, e.g.
 * `oma_tok_3f9a0c2b7d4e1a65.q0Yd…` (43 base64url characters of secret). The prefix makes a
 * leaked token recognisable to secret scanners; the id makes lookup one key read.
 *
 * The secret is 256 random bits, so the server keeps only SHA-256 of the token: a slow
 * password hash guards low-entropy secrets against guessing, and there is nothing to guess
 * here — a stolen hash list cannot be turned back into tokens, and one hash per call costs
 * about a microsecond.
 */
const BEARER = /^oma_(tok_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export const TOKEN_ID_PATTERN = /^tok_[0-9a-f]{16}$/;

/** A fresh token id and its bearer token. */
export function mintBearerToken(): { tokenId: string; bearer: string } {
  const tokenId = `tok_${randomBytes(8).toString("hex")}`;
  return { tokenId, bearer: `oma_${tokenId}.${randomBytes(32).toString("base64url")}` };
}

/** The token id inside a well-formed bearer token, or undefined. */
export function bearerTokenId(bearer: string): string | undefined {
  return BEARER.exec(bearer)?.[1];
}

export function hashBearerToken(bearer: string): Uint8Array {
  // One-shot: no Hash object per call (every authenticated call hashes its bearer).
  return hash("sha256", bearer, "buffer");
}

/** Whether `bearer` hashes to `hash`, compared in constant time. */
export function bearerMatches(bearer: string, hash: Uint8Array): boolean {
  const given = hashBearerToken(bearer);
  return given.length === hash.length && timingSafeEqual(given, hash);
}
