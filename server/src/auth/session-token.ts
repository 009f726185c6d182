import { createHmac, timingSafeEqual } from "node:crypto";

/** What a session token says: who may touch which session, for how long. */
export interface SessionClaims {
  readonly tenant: string;
  readonly sessionId: string;
  readonly harnessId: string;
  /** The worker token it was issued under; revoking that token revokes this one. */
  readonly parentTokenId: string;
  /** Milliseconds since the epoch. */
  readonly expireMs: number;
}

/** Session tokens longer than this are not ours. */
const MAX_CHARS = 2048;
const PREFIX = "omas_";
/** Tokens whose claims `open` keeps by default, oldest dropped first (a token is ~300 bytes). */
const MAX_OPENED = 4096;

/**
 * Session tokens (SEC-4): `omas_<claims>.<mac>`, the claims as base64url JSON and the mac
 * an HMAC-SHA256 over them with the store's signing key. Stateless to check (one HMAC the
 * first time this process sees a token); revocation works through the parent token id.
 */
export class SessionTokens {
  readonly #key: Uint8Array;
  /**
   * Tokens already checked → their claims. A brain sends the same token on every call until
   * its next renewal, so most calls skip the HMAC. Only tokens with a valid mac get here.
   */
  readonly #opened = new Map<string, SessionClaims>();

  readonly #maxOpened: number;

  constructor(key: Uint8Array, options: { maxOpened?: number } = {}) {
    this.#key = key;
    this.#maxOpened = options.maxOpened ?? MAX_OPENED;
  }

  /** How many checked tokens' claims are kept (at most `maxOpened`). */
  get openedCount(): number {
    return this.#opened.size;
  }

  static isSessionToken(bearer: string): boolean {
    return bearer.startsWith(PREFIX);
  }

  issue(claims: SessionClaims): string {
    const body = Buffer.from(
      JSON.stringify({ t: claims.tenant, s: claims.sessionId, h: claims.harnessId, k: claims.parentTokenId, e: claims.expireMs }),
    ).toString("base64url");
    return `${PREFIX}${body}.${this.#mac(body)}`;
  }

  /** The claims of a token this server signed, or undefined for anything else (expiry is the caller's check). */
  open(bearer: string): SessionClaims | undefined {
    const known = this.#opened.get(bearer);
    if (known) return known;
    const claims = this.#verify(bearer);
    if (claims) {
      if (this.#opened.size >= this.#maxOpened) this.#opened.delete(this.#opened.keys().next().value!);
      this.#opened.set(bearer, claims);
    }
    return claims;
  }

  #verify(bearer: string): SessionClaims | undefined {
    if (bearer.length > MAX_CHARS || !bearer.startsWith(PREFIX)) return undefined;
    const dot = bearer.indexOf(".", PREFIX.length);
    if (dot < 0) return undefined;
    const body = bearer.slice(PREFIX.length, dot);
    const given = Buffer.from(bearer.slice(dot + 1));
    const expected = Buffer.from(this.#mac(body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const c = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof c["t"] !== "string" || typeof c["s"] !== "string" || typeof c["h"] !== "string" || typeof c["k"] !== "string" || typeof c["e"] !== "number") {
      return undefined;
    }
    return { tenant: c["t"], sessionId: c["s"], harnessId: c["h"], parentTokenId: c["k"], expireMs: c["e"] };
  }

  #mac(body: string): string {
    return createHmac("sha256", this.#key).update(`session-token:${body}`).digest("base64url");
  }
}
