import { createOmaClient } from "@oma/client/node";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectorLink } from "../cli/inspect-command.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { httpRoutes } from "./http-routes.js";
import { inspectorRoute } from "./inspector-route.js";
import { listen, type Listening } from "../rpc/listener.js";

// The inspector's files on the RPC port: the page for its paths, hashed assets, nothing
// else taken from the RPC handler.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app?.stop());

describe("the inspector route", () => {
  it("answers the page for /, /fleet and /sessions/ID with a strict CSP, and its assets", async () => {
    for (const path of ["/", "/fleet", "/sessions/ses_1"]) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      const html = await res.text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, "the page loads its bundle from /assets").toBeDefined();
      const js = await fetch(`${app.url}${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(js.headers.get("cache-control")).toMatch(/immutable/);
      const again = await fetch(`${app.url}${script}`, { headers: { "if-none-match": js.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
    expect((await fetch(`${app.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${app.url}/`, { method: "POST" })).status).toBe(405);
  });

  it("leaves every RPC path to the RPC handler (Connect GET included)", async () => {
    const client = createOmaClient({ baseUrl: app.url, token: app.adminToken, protocol: "connect" });
    expect((await client.serverInfo.getServerInfo({})).implementation).toBeTruthy();
    const res = await fetch(`${app.url}/oma.v1.ServerInfoService/GetServerInfo?connect=v1&encoding=json&message=%7B%7D`, { headers: { authorization: `Bearer ${app.adminToken}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { implementation?: string }).implementation).toBeTruthy();
  });

  it("says when the bundle is missing instead of serving nothing", async () => {
    const empty = await mkdtemp(join(tmpdir(), "oma-no-inspector-"));
    let server: Listening | undefined;
    try {
      server = await listen({ services: [], interceptors: [], port: 0, host: "127.0.0.1", readMaxBytes: 1024, logger: pino({ level: "silent" }), httpRoutes: httpRoutes(inspectorRoute(empty)) });
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/not built/);
    } finally {
      await server?.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe("oma inspect", () => {
  it("puts the token (and tenant) in the fragment, which browsers never send", () => {
    expect(inspectorLink("http://127.0.0.1:7070", "oma_ab.cd")).toBe("http://127.0.0.1:7070/#token=oma_ab.cd");
    const link = new URL(inspectorLink("http://h:1", "oma_x/y+z", { sessionId: "ses 1", tenant: "acme" }));
    expect(link.pathname).toBe("/sessions/ses%201");
    expect(new URLSearchParams(link.hash.slice(1)).get("token")).toBe("oma_x/y+z");
    expect(new URLSearchParams(link.hash.slice(1)).get("tenant")).toBe("acme");
  });
});
