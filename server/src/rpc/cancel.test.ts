import { createOmaClient } from "@oma/client/node";
import { pino } from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// A client that cancels a call is not a fault of the server: nothing at warn or above in
// its log, whatever the protocol and however much the stream was sending.
let app: TestApp;
const records: { level: number; msg: string; part?: string }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) records.push(JSON.parse(line) as { level: number; msg: string; part?: string });
      done();
    },
  });
  app = await startTestApp({ logger: pino({ level: "debug" }, sink) });
});
afterAll(async () => app?.stop());

describe("a client that cancels", () => {
  it("watches cut while they replay or idle, over gRPC, Connect and gRPC-Web, leave no warning or error in the server's log", async () => {
    for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
      const oma = createOmaClient({ baseUrl: app.url, token: app.adminToken, protocol });
      const { session } = await oma.sessions.createSession({ agent: { model: "m" } });
      const padding = "x".repeat(64 * 1024);
      for (let i = 0; i < 4; i++) await oma.sessions.emitBatch(session!.sessionId, Array.from({ length: 8 }, () => ({ case: "custom" as const, value: { type: "pad", data: { padding } } })));
      for (const readFirst of [1, 33]) {
        const abort = new AbortController();
        const stream = oma.sessions.watchEvents({ sessionId: session!.sessionId }, { signal: abort.signal })[Symbol.asyncIterator]();
        for (let n = 0; n < readFirst; n++) await stream.next();
        abort.abort();
        await stream.next().catch(() => undefined);
      }
      // A unary call cancelled while it waits on a sandbox.
      const abort = new AbortController();
      const provisioning = oma.sandboxes.provision({}, { signal: abort.signal }).catch(() => undefined);
      setTimeout(() => abort.abort(), 5);
      const created = await provisioning;
      if (created) await oma.sandboxes.destroySandbox({ sandboxId: created.sandbox!.sandboxId });
    }
    // Let the server notice the closed streams before looking at its log.
    await new Promise((r) => setTimeout(r, 300));
    // (The process backend's own "no isolation" warning is not about cancelling.)
    expect(records.filter((r) => r.level >= 40 && r.part !== "sandbox").map((r) => r.msg)).toEqual([]);
  });
});
