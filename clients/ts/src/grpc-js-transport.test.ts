import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonOf } from "./errors.js";
import { bearerAuth } from "./interceptors.js";
import { createServer, connect, type Server } from "node:net";
import { createGrpcJsTransport, createOmaClient, GrpcJsChannel } from "./node.js";
import { haveServerBuild, startServerProcess, type ServerProcess } from "./testing/server-process.js";

// The SDK's other tests run over this transport (protocol "grpc" in Node); these show what
// they do not: a call's headers and trailers, its deadline and its cancel come through it.
describe.skipIf(!haveServerBuild)("the @grpc/grpc-js transport", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => server?.stop());

  it("carries the interceptors' headers and answers with the server's headers and trailers; an error keeps its code and reason", async () => {
    const seen: { header?: Headers; trailer?: Headers }[] = [];
    const capture: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (!res.stream) seen.push({ header: res.header, trailer: res.trailer });
      return res;
    };
    const { sessions } = createOmaClient({ transport: createGrpcJsTransport({ baseUrl: server.url, interceptors: [bearerAuth(server.token), capture] }) });
    const sessionId = `grpcjs-${process.pid}`;
    await sessions.createSession({ sessionId, agent: { model: "m" } });
    expect(seen[0]?.header?.get("content-type")).toMatch(/^application\/grpc/);
    expect(seen[0]?.trailer?.get("grpc-status")).toBeNull(); // grpc-js keeps the status out of the metadata
    const err = await sessions.getSession({ sessionId: `${sessionId}-none` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect(reasonOf(err)).not.toBe("");
    const anonymous = createOmaClient({ transport: createGrpcJsTransport({ baseUrl: server.url }) });
    const refused = await anonymous.sessions.getSession({ sessionId }).catch((e: unknown) => e);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("a deadline ends a stream with DEADLINE_EXCEEDED, a cancel with CANCELED", async () => {
    const { sessions } = createOmaClient({ transport: createGrpcJsTransport({ baseUrl: server.url, interceptors: [bearerAuth(server.token)] }) });
    const sessionId = `grpcjs-watch-${process.pid}`;
    await sessions.createSession({ sessionId, agent: { model: "m" } });
    const watchUntil = async (options: { timeoutMs?: number; signal?: AbortSignal }) => {
      try {
        for await (const _ of sessions.watchEvents({ sessionId }, options)) void _;
        return undefined;
      } catch (e) {
        return ConnectError.from(e);
      }
    };
    expect((await watchUntil({ timeoutMs: 300 }))?.code).toBe(Code.DeadlineExceeded);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    expect((await watchUntil({ signal: stop.signal }))?.code).toBe(Code.Canceled);
  });

  it("clients on one shared channel use its one connection, each with its own token; closing the channel ends its calls", async () => {
    // A TCP relay in front of the server counts the connections clients open.
    const { port, connections, close } = await relayTo(new URL(server.url).port);
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      const channel = new GrpcJsChannel(baseUrl);
      const admin = createOmaClient({ channel, token: server.token });
      const stranger = createOmaClient({ channel, token: "not-a-token" });
      const sessionId = `grpcjs-shared-${process.pid}`;
      await admin.sessions.createSession({ sessionId, agent: { model: "m" } });
      const refused = await stranger.sessions.getSession({ sessionId }).catch((e: unknown) => e);
      expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
      await Promise.all(Array.from({ length: 8 }, () => createOmaClient({ channel, token: server.token }).sessions.getSession({ sessionId })));
      expect(connections()).toBe(1);

      channel.close();
      const afterClose = await admin.sessions.getSession({ sessionId }).catch((e: unknown) => e);
      expect(afterClose).toBeInstanceOf(ConnectError);
      expect(() => createOmaClient({ channel, protocol: "connect" })).toThrow(/gRPC channel/);
      expect(() => createGrpcJsTransport({ channel, baseUrl: "http://127.0.0.1:1" })).toThrow(/not the channel's/);
    } finally {
      await close();
    }
  });
});

/** A TCP relay on a free port to 127.0.0.1:`target`, counting the connections it accepted. */
async function relayTo(target: string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<import("node:net").Socket>();
  const relay: Server = createServer((inbound) => {
    accepted++;
    const outbound = connect(Number(target), "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    port: (relay.address() as { port: number }).port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        relay.close(() => resolve());
      }),
  };
}

