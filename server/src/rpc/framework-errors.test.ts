import { randomBytes } from "node:crypto";
import { BytesValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { bearerAuth, omaErrorInfo } from "@oma/client";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { OmaError } from "../errors/oma-error.js";
import { listen, type Listening } from "./listener.js";
import { toConnectError } from "./to-connect-error.js";

// WIRE-3/WIRE-5: what the RPC framework answers by itself — bytes that do not decode, a
// message over the size limit — leaves the server as an OMA error with a reason, over
// every protocol, and never quotes the parser.
let app: TestApp;
const LIMIT = 64 * 1024;

beforeAll(async () => {
  app = await startTestApp({ limits: { maxRequestBytes: LIMIT } });
});
afterAll(async () => app?.stop());

const protocols = ["grpc", "connect", "connect-json", "grpc-web"] as const;
const transportOf = (name: (typeof protocols)[number]) => {
  const interceptors = [bearerAuth(app.adminToken)];
  switch (name) {
    case "grpc":
      return createGrpcTransport({ baseUrl: app.url, interceptors });
    case "connect":
      return createConnectTransport({ baseUrl: app.url, httpVersion: "1.1", interceptors });
    case "connect-json":
      return createConnectTransport({ baseUrl: app.url, httpVersion: "1.1", interceptors, useBinaryFormat: false });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl: app.url, httpVersion: "1.1", interceptors });
  }
};

describe("errors the framework answers by itself", () => {
  for (const name of protocols) {
    it(`${name}: a request that does not decode is INVALID_ARGUMENT / MALFORMED_REQUEST without the parser's text`, async () => {
      // A GetSessionRequest whose session_id (a string) holds bytes that are not UTF-8.
      const method = { ...SessionService.method.getSession, input: BytesValueSchema } as unknown as typeof SessionService.method.getSession;
      const err = await transportOf(name)
        .unary(method, undefined, undefined, undefined, { value: new Uint8Array([0xc3, 0x28]) } as never, undefined)
        .then(() => undefined, (e: unknown) => e);
      const info = omaErrorInfo(err);
      expect([info?.code, info?.reason, info?.metadata["message_type"]], String(err)).toEqual([Code.InvalidArgument, "MALFORMED_REQUEST", "oma.v1.GetSessionRequest"]);
      expect((err as ConnectError).rawMessage).not.toMatch(/utf-8|premature|parse/i);
    });

    it(`${name}: a request over the size limit is RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE with the limit`, async () => {
      const sessions = createClient(SessionService, transportOf(name));
      const err = await sessions.getSession({ sessionId: "x".repeat(LIMIT + 1) }).then(() => undefined, (e: unknown) => e);
      const info = omaErrorInfo(err);
      expect([info?.code, info?.reason, info?.metadata["limit_bytes"]], String(err)).toEqual([Code.ResourceExhausted, "REQUEST_TOO_LARGE", String(LIMIT)]);
    });
  }

  it("Connect JSON that is not JSON is MALFORMED_REQUEST, as a JSON error body", async () => {
    const res = await fetch(`${app.url}/oma.v1.SessionService/GetSession`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${app.adminToken}` },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string; details?: { type: string }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.details?.map((d) => d.type)).toContain("google.rpc.ErrorInfo");
    expect(body.message).not.toMatch(/JSON|token|position/i);
  });
});

describe("errors whose trailer the framework compresses", () => {
  // A trailer (gRPC-Web) or end-stream message (Connect streams) over 1 KiB is compressed
  // when the client accepts gzip; the wrapper reads it decompressed and writes it back.
  let server: Listening;
  // Text that compresses poorly, like git's output and URLs in a real one.
  const long = `refused: ${randomBytes(800).toString("base64")}`;
  beforeAll(async () => {
    // An OMA error, as handlers throw them: its ErrorInfo repeats the text in its metadata.
    const fail = () => {
      throw toConnectError(new OmaError("CLONE_FAILED", long, { detail: long }), "", () => new Error("unreachable"));
    };
    server = await listen({
      services: [
        { desc: ServerInfoService, impl: { getServerInfo: fail } },
        { desc: SessionService, impl: { async *watchEvents() { yield* []; fail(); } } },
      ],
      interceptors: [],
      port: 0,
      host: "127.0.0.1",
      readMaxBytes: 1024 * 1024,
      logger: pino({ level: "silent" }),
    });
  });
  afterAll(async () => server?.close());

  for (const name of ["grpc-web", "connect"] as const) {
    it(`${name}: a long error reaches a client that accepts gzip, whole`, async () => {
      const options = { baseUrl: server.url, httpVersion: "1.1" as const, acceptCompression: [compressionGzip] };
      const transport = name === "grpc-web" ? createGrpcWebTransport(options) : createConnectTransport(options);
      const call =
        name === "grpc-web"
          ? createClient(ServerInfoService, transport).getServerInfo({}, { timeoutMs: 10_000 })
          : (async () => {
              for await (const _ of createClient(SessionService, transport).watchEvents({ sessionId: "s" }, { timeoutMs: 10_000 })) void _;
            })();
      const err = await call.then(() => undefined, (e: unknown) => e);
      expect([(err as ConnectError).code, (err as ConnectError).rawMessage]).toEqual([Code.FailedPrecondition, long]);
    });
  }
});
