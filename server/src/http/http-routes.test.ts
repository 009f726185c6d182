import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { madeOnFirstRequest } from "./http-routes.js";

const log = createLogger({ level: "silent" });

/** A response that records what was written to it. */
function recorder() {
  const seen: { status?: number; body?: string } = {};
  const res = {
    headersSent: false,
    writeHead(status: number) {
      seen.status = status;
      this.headersSent = true;
      return this;
    },
    end(body?: Uint8Array | string) {
      seen.body = body === undefined ? "" : Buffer.from(body).toString("utf8");
      return this;
    },
  };
  return { res: res as unknown as ServerResponse, seen };
}

const req = { url: "/x", headers: {} } as IncomingMessage;

describe("a handler made on its first request", () => {
  it("is made once, by the first request, and serves every request after", async () => {
    let made = 0;
    const served: string[] = [];
    const handle = madeOnFirstRequest(async () => {
      made++;
      return (r) => served.push(r.url ?? "");
    }, log);
    expect(made).toBe(0);
    await Promise.all([handle(req, recorder().res), handle(req, recorder().res)]);
    await handle(req, recorder().res);
    expect(made).toBe(1);
    expect(served).toEqual(["/x", "/x", "/x"]);
  });

  it("answers 500 and logs why when it cannot be made, and tries again at the next request", async () => {
    let attempts = 0;
    const logged: unknown[] = [];
    const spy = { ...log, error: (obj: unknown) => void logged.push(obj) } as unknown as typeof log;
    const handle = madeOnFirstRequest(async () => {
      if (++attempts === 1) throw new Error("module not found");
      return (_r, res) => res.writeHead(204).end();
    }, spy);
    const first = recorder();
    await handle(req, first.res);
    expect(first.seen.status).toBe(500);
    expect(first.seen.body).not.toContain("module not found");
    expect(logged).toHaveLength(1);
    expect(String((logged[0] as { err: Error }).err.message)).toBe("module not found");
    const second = recorder();
    await handle(req, second.res);
    expect(second.seen.status).toBe(204);
    expect(attempts).toBe(2);
  });
});
