import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createOmaClient as createBrowserClient } from "./index.js";
import { createOmaClient as createNodeClient } from "./node.js";
import { SessionService } from "./gen/oma/v1/session_service_pb.js";
import { bearerAuth } from "./interceptors.js";

const src = dirname(fileURLToPath(import.meta.url));

/** Every relative module the given one imports, transitively. */
function importGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(src, file), "utf8");
  for (const m of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) importGraph(join(dirname(file), `${m[1]}.ts`), seen);
  return seen;
}

describe("createOmaClient options", () => {
  it("keeps the browser entry free of node: modules and connect-node", () => {
    const files = [...importGraph("index.ts")].filter((f) => !f.startsWith("gen/"));
    expect(files).toContain("watch.ts");
    expect(files).not.toContain("node.ts");
    for (const f of files) {
      const text = readFileSync(join(src, f), "utf8");
      expect(text, f).not.toMatch(/from\s+"node:|@connectrpc\/connect-node/);
    }
  });

  it("refuses gRPC in the browser entry and points to the node entry", () => {
    expect(() => createBrowserClient({ baseUrl: "http://127.0.0.1:1", protocol: "grpc" })).toThrow(/@oma\/client\/node/);
  });

  it("refuses a token together with a ready transport, so the token is never dropped", () => {
    const transport = createRouterTransport(() => {});
    expect(() => createNodeClient({ transport, token: "t" })).toThrow(TypeError);
    expect(() => createBrowserClient({ baseUrl: "" })).toThrow(TypeError);
  });

  it("sends the token as a bearer authorization header", async () => {
    const seen: (string | null)[] = [];
    const transport = createRouterTransport(
      (router) =>
        router.service(SessionService, {
          async getSession(_req, ctx) {
            seen.push(ctx.requestHeader.get("authorization"));
            return {};
          },
        }),
      { transport: { interceptors: [bearerAuth(() => "tok-123")] } },
    );
    const oma = createNodeClient({ transport });
    await oma.sessions.getSession({ sessionId: "ses_t" });
    expect(seen).toEqual(["Bearer tok-123"]);
  });
});
