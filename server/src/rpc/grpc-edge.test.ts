import * as http2 from "node:http2";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorInfoSchema } from "@oma/client/gen/google/rpc/error_details_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

interface Answer {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.end(body);
  });
}

/** A gRPC length-prefixed message. */
const framed = (message: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);

// WIRE-1: one port, and on HTTP/2 one connection, carries gRPC (served by @grpc/grpc-js)
// beside Connect and gRPC-Web (served by connect-node); the stream's content type decides.
describe("gRPC and Connect on one HTTP/2 connection", () => {
  let app: TestApp;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    app = await startTestApp();
    session = http2.connect(app.url);
  });
  afterAll(async () => {
    session.close();
    await app.stop();
  });

  it("answers a gRPC call and a Connect call on the same connection, each in its own protocol", async () => {
    const auth = { authorization: `Bearer ${app.adminToken}` };
    const grpc = await request(session, { ":path": "/oma.v1.ServerInfoService/GetServerInfo", "content-type": "application/grpc", te: "trailers", ...auth }, framed(Buffer.alloc(0)));
    expect(grpc.headers[":status"]).toBe(200);
    expect(grpc.headers["content-type"]).toMatch(/^application\/grpc/);
    expect(grpc.trailers["grpc-status"]).toBe("0");
    expect(grpc.body.length).toBeGreaterThan(5);

    const connect = await request(session, { ":path": "/oma.v1.ServerInfoService/GetServerInfo", "content-type": "application/json", ...auth }, Buffer.from("{}"));
    expect(connect.headers[":status"]).toBe(200);
    expect(JSON.parse(connect.body.toString())).toMatchObject({ implementation: "oma-reference" });
  });

  it("sends an OMA error over gRPC with its ErrorInfo in grpc-status-details-bin", async () => {
    const grpc = await request(session, { ":path": "/oma.v1.ServerInfoService/GetServerInfo", "content-type": "application/grpc", te: "trailers" }, framed(Buffer.alloc(0)));
    const trailers = Object.keys(grpc.trailers).length > 0 ? grpc.trailers : grpc.headers; // a trailers-only answer
    expect(trailers["grpc-status"]).toBe("16");
    const error = findTrailerError(new Headers(Object.entries(trailers).filter(([k]) => !k.startsWith(":")).map(([k, v]) => [k, String(v)])));
    expect(error?.findDetails(ErrorInfoSchema).map((d) => d.reason)).toEqual(["UNAUTHENTICATED"]);
  });

  it("answers an unknown gRPC method with UNIMPLEMENTED", async () => {
    const grpc = await request(session, { ":path": "/oma.v1.NoSuchService/Nothing", "content-type": "application/grpc", te: "trailers" }, framed(Buffer.alloc(0)));
    const trailers = Object.keys(grpc.trailers).length > 0 ? grpc.trailers : grpc.headers;
    expect(trailers["grpc-status"]).toBe("12");
  });
});
