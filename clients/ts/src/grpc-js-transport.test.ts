import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonOf } from "./errors.js";
import { bearerAuth } from "./interceptors.js";
import { createGrpcJsTransport, createOmaClient } from "./node.js";
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
});
