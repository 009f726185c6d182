import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { guardedFetch } from "./guarded-fetch.js";
import { relay } from "./upstream-request.js";

// An upstream that closes an idle keep-alive connection just as the proxy sends the next
// request on it: the request meets a reset. A server's keep-alive timeout and a busy proxy
// make that race real; here the upstream answers each connection's first request and resets
// the connection when a second one arrives, so the race happens every time it can.
const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function listen(server: net.Server, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** Answers the first request of a connection (keep-alive), resets the connection on the second. */
function oneRequestPerConnectionUpstream(): net.Server {
  return net.createServer((socket) => {
    let requests = 0;
    socket.on("data", (chunk) => {
      if (!chunk.toString("latin1").includes("\r\n\r\n")) return;
      requests += 1;
      if (requests > 1) return socket.resetAndDestroy();
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\nhello");
    });
    socket.on("error", () => undefined);
  });
}

function proxyTo(upstreamPort: number): http.Server {
  return http.createServer((req, res) =>
    relay(req, res, new URL(`http://127.0.0.1:${upstreamPort}/`), {
      policy: { allowLoopback: true },
      extra: {},
      open: true,
      onRefused: () => undefined,
      onFailed: (err) => {
        res.writeHead(502);
        res.end(err.message);
      },
    }),
  );
}

async function get(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return { status: res.status, body: await res.text() };
}

describe("relay", () => {
  it("never sends a request on a connection the upstream may be closing: each request meets a fresh one", async () => {
    const upstream = await listen(oneRequestPerConnectionUpstream());
    const proxy = await listen(proxyTo(upstream));
    for (let i = 0; i < 3; i++) expect(await get(proxy)).toEqual({ status: 200, body: "hello" });
  });
});

describe("guardedFetch (the MCP client's fetch)", () => {
  it("never sends a request on a connection the upstream may be closing", async () => {
    const upstream = await listen(oneRequestPerConnectionUpstream());
    const fetchUpstream = guardedFetch({ allowLoopback: true });
    for (let i = 0; i < 3; i++) {
      const res = await fetchUpstream(`http://127.0.0.1:${upstream}/`, { method: "POST", body: "{}" });
      expect({ status: res.status, body: await res.text() }).toEqual({ status: 200, body: "hello" });
    }
  });
});
