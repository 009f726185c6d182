// WIRE-7: a watch whose deadline passes on the server ends with DEADLINE_EXCEEDED, not OK
// (rpc/connect-adapter.ts).
// The client here sends the deadline (grpc-timeout / connect-timeout-ms) but does not
// enforce it itself, so the status seen is the one the server ends the call with.
import { toBinary } from "@bufbuild/protobuf";
import { SessionService, WatchEventsRequestSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { create } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { newSession } from "../session/session-test-kit.js";

/** Sends one server-streaming request and returns the response headers, body and trailers. */
function rawStream(url: string, path: string, headers: http2.OutgoingHttpHeaders, body: Uint8Array) {
  return new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      session.close();
      resolve({ headers: head, trailers, body: Buffer.concat(chunks) });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function envelope(payload: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(out, 5);
  return out;
}

describe("WIRE-7: the server's own deadline ends a watch with DEADLINE_EXCEEDED", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.stop();
  });

  const path = `/${SessionService.typeName}/${SessionService.method.watchEvents.name}`;

  it("over gRPC: trailers carry grpc-status 4", async () => {
    const sessionId = await newSession(app.client(SessionService));
    const body = envelope(toBinary(WatchEventsRequestSchema, create(WatchEventsRequestSchema, { sessionId })));
    const res = await rawStream(app.url, path, { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "300m", authorization: `Bearer ${app.adminToken}` }, body);
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe("4");
  });

  it("over Connect: the end-of-stream message carries deadline_exceeded", async () => {
    const sessionId = await newSession(app.client(SessionService));
    const body = envelope(toBinary(WatchEventsRequestSchema, create(WatchEventsRequestSchema, { sessionId })));
    const res = await rawStream(app.url, path, { "content-type": "application/connect+proto", "connect-protocol-version": "1", "connect-timeout-ms": "300", authorization: `Bearer ${app.adminToken}` }, body);
    // The last envelope (flag 0x02) is the end-of-stream JSON.
    let at = 0;
    let end: unknown;
    while (at + 5 <= res.body.length) {
      const flags = res.body.readUInt8(at);
      const len = res.body.readUInt32BE(at + 1);
      if (flags & 0x02) end = JSON.parse(res.body.subarray(at + 5, at + 5 + len).toString());
      at += 5 + len;
    }
    expect(end).toMatchObject({ error: { code: "deadline_exceeded" } });
  });
});
