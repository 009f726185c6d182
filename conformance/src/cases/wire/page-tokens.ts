import type { CaseContext } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { S } from "../session/session-helpers.js";

const badToken = { code: "INVALID_ARGUMENT", reason: "INVALID_PAGE_TOKEN" } as const;

/** A List RPC under test, seen as pages of item ids. */
export interface ListUnderTest {
  readonly name: string;
  /** One page with the case's own filters, or with other filters (a token must not carry over). */
  page(pageSize: number, pageToken: string, filters?: "own" | "other"): Promise<{ ids: string[]; nextPageToken: string }>;
}

/** Pages through a list with its own filters; bounded at 100 pages. */
export async function pageAll(list: ListUnderTest, pageSize: number): Promise<{ ids: string[]; tokens: string[] }> {
  const ids: string[] = [];
  const tokens: string[] = [];
  let pageToken = "";
  for (let n = 0; n < 100; n++) {
    const page = await list.page(pageSize, pageToken);
    check(page.ids.length <= pageSize, `${list.name}: a page of size ${pageSize} returned ${page.ids.length} items`);
    ids.push(...page.ids);
    if (page.nextPageToken === "") return { ids, tokens };
    tokens.push(page.nextPageToken);
    pageToken = page.nextPageToken;
  }
  throw new Error(`${list.name} did not end within 100 pages`);
}

/**
 * WIRE-4 for one list, as an implementer who signs nothing would be tested: page 1 of size
 * 1 gives a genuine token; every token the server did not issue for this very query is
 * INVALID_PAGE_TOKEN — guesses of common unsigned formats built from the listed ids, the
 * genuine token altered in the middle of each part or with the first page's id inside it
 * swapped for another listed id, the genuine token with other filters, and a token of another list — while the
 * genuine token still opens page 2. `knownIds` are ids the list holds (two at least).
 */
export async function checkPageTokens(list: ListUnderTest, knownIds: readonly string[], foreignToken: string | undefined): Promise<void> {
  const first = await list.page(1, "");
  check(first.ids.length === 1 && first.nextPageToken !== "", `${list.name}: a first page of 1 of several items must carry a next_page_token`);
  const genuine = first.nextPageToken;
  const cursorId = first.ids[0]!;
  const otherId = knownIds.find((id) => id !== cursorId) ?? cursorId;
  for (const pageToken of forgeries(genuine, cursorId, otherId)) {
    await expectFailure(list.page(1, pageToken), badToken, `${list.name} with a token it never issued (${JSON.stringify(pageToken.slice(0, 48))})`);
  }
  await expectFailure(list.page(1, genuine, "other"), badToken, `${list.name} with a genuine token and other filters`);
  if (foreignToken !== undefined) await expectFailure(list.page(1, foreignToken), badToken, `${list.name} with a token of another list`);
  const second = await list.page(1, genuine);
  checkEqual(second.ids.length, 1, `${list.name}: items on the page the genuine token opens`);
  check(second.ids[0] !== first.ids[0], `${list.name}: the genuine token must continue after the first page, not repeat it`);
}

/** A genuine ListSessions token (of a run-unique label), to try on another list. */
export async function sessionListToken(ctx: CaseContext): Promise<string | undefined> {
  if (!ctx.info.features.includes("session.core")) return undefined;
  const tag = ctx.uniqueId("t").toLowerCase();
  for (let i = 0; i < 2; i++) await ctx.rpc.unary(S.createSession, { sessionId: ctx.uniqueId("conf"), labels: { "conf.run": tag }, agent: { model: "oma-conformance-model" } });
  const page = await ctx.rpc.unary(S.listSessions, { pageSize: 1, labels: { "conf.run": tag } });
  check(page.nextPageToken !== "", "ListSessions of 2 sessions with page_size 1 must carry a next_page_token");
  return page.nextPageToken;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const b64url = (s: string) => Buffer.from(s).toString("base64url");

/**
 * Tokens a server cannot have issued for this query. Common unsigned formats (an offset,
 * an id, `<kind>:<id>`, JSON), then the genuine token tampered with: a character in the
 * middle of each `.`/`:`-separated part replaced (its data bits change, whatever the
 * encoding), and any known id found inside it, in clear or base64, replaced by another.
 */
function forgeries(genuine: string, a: string, b: string): string[] {
  const guesses = ["not-a-token", "x".repeat(200), "1", "50", b64url('{"offset":1}'), b64('{"offset":1}'), a, b64url(a), b64(a), b64url(`${a.split("_")[0]}:${a}`), b64url(JSON.stringify({ after: a })), b64url(JSON.stringify({ a, s: "" }))];
  const out = new Set(guesses.filter((t) => t !== "" && t !== genuine));
  const parts = genuine.split(/([.:])/);
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i]!;
    if (part.length < 2) continue;
    out.add([...parts.slice(0, i), mutateMiddle(part), ...parts.slice(i + 1)].join(""));
    const swapped = swapIds(part, a, b);
    if (swapped !== undefined) out.add([...parts.slice(0, i), swapped, ...parts.slice(i + 1)].join(""));
  }
  out.add(genuine.slice(0, -1));
  out.delete(genuine);
  return [...out];
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Replaces the middle character by one 32 places away in the base64url alphabet (its top bit flips). */
function mutateMiddle(part: string): string {
  const at = Math.floor(part.length / 2);
  const c = part[at]!;
  const i = ALPHABET.indexOf(c);
  const replacement = i >= 0 ? ALPHABET[(i + 32) % 64]! : c === "0" ? "1" : "0";
  return part.slice(0, at) + replacement + part.slice(at + 1);
}

/** The part with id `from` replaced by `to`, in clear or inside base64/base64url; undefined when it holds neither. */
function swapIds(part: string, from: string, to: string): string | undefined {
  if (from === to) return undefined;
  for (const [x, y] of [[from, to], [to, from]] as const) {
    if (part.includes(x)) return part.replaceAll(x, y);
    for (const encoding of ["base64url", "base64"] as const) {
      const text = Buffer.from(part, encoding).toString("utf8");
      if (text.includes(x)) return Buffer.from(text.replaceAll(x, y)).toString(encoding).replace(/=+$/, part.endsWith("=") ? "$&" : "");
    }
  }
  return undefined;
}
