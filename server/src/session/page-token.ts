import { createHmac, timingSafeEqual } from "node:crypto";
import { OmaError } from "../errors/oma-error.js";

/** Tokens longer than this are not ours. */
const MAX_TOKEN_CHARS = 2048;

/**
 * Opaque, tamper-proof page tokens (WIRE-4): the store's cursor and a digest of the query's
 * filters, signed with the server's secret. A forged or altered token, or one issued for
 * other filters, is INVALID_PAGE_TOKEN.
 */
export class PageTokens {
  readonly #secret: Uint8Array;

  constructor(secret: Uint8Array) {
    this.#secret = secret;
  }

  issue(cursor: string, filters: unknown): string {
    const body = Buffer.from(JSON.stringify({ c: cursor, f: this.#digest(filters) })).toString("base64url");
    return `${body}.${this.#sign(body)}`;
  }

  /** The cursor inside a token issued for these filters, or INVALID_PAGE_TOKEN. */
  open(token: string, filters: unknown): string {
    const invalid = () => new OmaError("INVALID_PAGE_TOKEN", "page token was not issued for this query", { field: "page_token" });
    if (token.length > MAX_TOKEN_CHARS) throw invalid();
    const [body, signature, extra] = token.split(".");
    if (body === undefined || signature === undefined || extra !== undefined) throw invalid();
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    const parsed = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { c?: unknown; f?: unknown };
    if (typeof parsed.c !== "string" || parsed.f !== this.#digest(filters)) throw invalid();
    return parsed.c;
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#secret).update(body).digest("base64url");
  }

  #digest(filters: unknown): string {
    return createHmac("sha256", this.#secret).update(JSON.stringify(filters)).digest("base64url").slice(0, 22);
  }
}
