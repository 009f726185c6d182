import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "../canonical-json.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import { DEFAULT_PAGE_SIZE } from "../limits.js";

/** Tokens longer than this are not ours. */
const MAX_TOKEN_CHARS = 2048;

/**
 * What a page token is bound to: the list RPC and every filter of its request (and, where
 * there is one, the caller's tenant). A token issued for one query key opens no other.
 * Any JSON value; key order does not matter.
 */
export type QueryKey = { readonly list: string } & Readonly<Record<string, unknown>>;

/** The paging fields every List request carries (AIP-158). */
export interface PageRequest {
  readonly pageSize: number;
  readonly pageToken: string;
}

/** A request's page: how many items, and where to continue (undefined: from the start). */
export interface PageWindow {
  readonly size: number;
  readonly cursor: string | undefined;
}

/**
 * AIP-158 sizes (WIRE-4, SESS-11): 0 → `defaultSize`, above `max` → `max`, negative →
 * INVALID_FIELD naming the field.
 */
export function pageSize(value: number, field: string, defaultSize: number, max: number): number {
  if (value < 0) throw invalidField(field, "non_negative", "must not be negative", { value });
  if (value === 0) return defaultSize;
  return Math.min(value, max);
}

/**
 * The one paging helper of every List RPC (WIRE-4): page sizes from the limits, and
 * opaque, tamper-proof page tokens. A token carries the list's cursor and a digest of the
 * query key, signed with the server's secret, so a forged or altered token, or one issued
 * for another list or other filters, is INVALID_PAGE_TOKEN.
 */
export class Paging {
  readonly #secret: Uint8Array;
  readonly #maxPageSize: number;

  constructor(secret: Uint8Array, maxPageSize: number) {
    this.#secret = secret;
    this.#maxPageSize = maxPageSize;
  }

  /** The page a request asks for: its size in force and the cursor inside its token. */
  open(req: PageRequest, query: QueryKey): PageWindow {
    const size = pageSize(req.pageSize, "page_size", DEFAULT_PAGE_SIZE, this.#maxPageSize);
    return { size, cursor: req.pageToken === "" ? undefined : this.#cursorOf(req.pageToken, query) };
  }

  /** The next_page_token that continues after `cursor` ("" when there is no next page). */
  next(cursor: string | undefined, query: QueryKey): string {
    if (cursor === undefined) return "";
    const body = Buffer.from(JSON.stringify({ c: cursor, q: this.#digest(query) })).toString("base64url");
    return `${body}.${this.#sign(body)}`;
  }

  #cursorOf(token: string, query: QueryKey): string {
    const invalid = () => new OmaError("INVALID_PAGE_TOKEN", "page token was not issued for this query", { field: "page_token" });
    if (token.length > MAX_TOKEN_CHARS) throw invalid();
    const [body, signature, extra] = token.split(".");
    if (body === undefined || signature === undefined || extra !== undefined) throw invalid();
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    const parsed = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { c?: unknown; q?: unknown };
    if (typeof parsed.c !== "string" || parsed.q !== this.#digest(query)) throw invalid();
    return parsed.c;
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#secret).update(body).digest("base64url");
  }

  #digest(query: QueryKey): string {
    return createHmac("sha256", this.#secret).update(canonicalJson(query)).digest("base64url").slice(0, 22);
  }
}

/**
 * The secret of page tokens, derived from the token store's signing key (kept there,
 * shared by every server on a shared store), so a page token from one server opens the
 * next page on another, and stays valid across restarts.
 */
export function pageTokenSecret(signingKey: Uint8Array): Uint8Array {
  return createHmac("sha256", signingKey).update("oma page tokens").digest();
}
