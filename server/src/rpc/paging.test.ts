import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OmaError } from "../errors/oma-error.js";
import { Paging } from "./paging.js";

const paging = new Paging(randomBytes(32), 1000);
const sessions = { list: "ListSessions", status: 0, labels: { team: "a", run: "r1" } };

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof OmaError ? `${err.reason}/${err.field}` : String(err);
  }
  return undefined;
}

describe("Paging (WIRE-4)", () => {
  it("sizes: 0 is the default 50, above the maximum is the maximum, negative is INVALID_FIELD page_size", () => {
    expect(paging.open({ pageSize: 0, pageToken: "" }, sessions)).toEqual({ size: 50, cursor: undefined });
    expect(paging.open({ pageSize: 7, pageToken: "" }, sessions).size).toBe(7);
    expect(paging.open({ pageSize: 5000, pageToken: "" }, sessions).size).toBe(1000);
    expect(reasonOf(() => paging.open({ pageSize: -1, pageToken: "" }, sessions))).toBe("INVALID_FIELD/page_size");
  });

  it("a token opens the query it was issued for, whatever the order of the query's keys", () => {
    const token = paging.next("cursor-1", sessions);
    const reordered = { labels: { run: "r1", team: "a" }, status: 0, list: "ListSessions" };
    expect(paging.open({ pageSize: 1, pageToken: token }, reordered).cursor).toBe("cursor-1");
    expect(paging.next(undefined, sessions)).toBe("");
  });

  it("a token of another list, other filters, another secret, altered or forged is INVALID_PAGE_TOKEN", () => {
    const token = paging.next("cursor-1", sessions);
    const [body, signature] = token.split(".") as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ c: "cursor-9", q: JSON.parse(Buffer.from(body, "base64url").toString()).q })).toString("base64url");
    const bad: [string, unknown][] = [
      [token, { ...sessions, list: "ListSandboxes" }],
      [token, { ...sessions, labels: { team: "a" } }],
      [token, { ...sessions, tenant: "other" }],
      [new Paging(randomBytes(32), 1000).next("cursor-1", sessions), sessions],
      [`${forgedBody}.${signature}`, sessions],
      // The last character swapped for another (never itself: that would be the valid token).
      [`${body}.${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`, sessions],
      [body, sessions],
      [`${token}.x`, sessions],
      ["x".repeat(3000), sessions],
      [Buffer.from("sbx:sbx_1").toString("base64url"), sessions],
    ];
    for (const [pageToken, query] of bad) {
      expect(reasonOf(() => paging.open({ pageSize: 1, pageToken }, query as typeof sessions)), pageToken.slice(0, 40)).toBe("INVALID_PAGE_TOKEN/page_token");
    }
  });
});
