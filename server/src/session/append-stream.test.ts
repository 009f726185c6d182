import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { bearerAuth, reasonOf } from "@oma/client";
import { createOmaClient } from "@oma/client/node";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

const custom = (i: number) => ({ payload: { case: "custom" as const, value: { type: "append-stream", data: { i } } } });

/** A request stream whose next request is sent only when the test says so. */
function feed<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(request: T) {
      queue.push(request);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *requests(): AsyncIterable<T> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

// SESS-22: AppendEvents over gRPC and over Connect on HTTP/2.
describe("AppendEvents (SESS-22)", () => {
  let app: TestApp;
  let transports: Record<string, Transport>;
  beforeAll(async () => {
    app = await startTestApp();
    transports = { grpc: app.grpc as Transport, "connect (HTTP/2)": createConnectTransport({ baseUrl: app.url, httpVersion: "2", interceptors: [bearerAuth(app.adminToken)] }) };
  });
  afterAll(async () => {
    await app.stop();
  });

  for (const name of ["grpc", "connect (HTTP/2)"]) {
    it(`${name}: acks every request in order with consecutive seqs, each durable when acked, and a repeated key as a duplicate`, async () => {
      const sessions = createClient(SessionService, transports[name]!);
      const { session } = await sessions.createSession({ agent: { model: "m" } });
      const sessionId = session!.sessionId;
      const requests = Array.from({ length: 50 }, (_, i) => ({ sessionId, events: [custom(2 * i), custom(2 * i + 1)], idempotencyKey: `k-${i}` }));
      requests.push({ ...requests[7]! }); // the same key and events again
      async function* all() {
        yield* requests;
      }
      const acks = [];
      for await (const ack of sessions.appendEvents(all())) {
        // Durable when acknowledged: a read on another call already sees it.
        const last = ack.events.at(-1)!.seq;
        const { events } = await sessions.getEvents({ sessionId, afterSeq: last - 1n, limit: 1 });
        expect(events[0]?.seq).toBe(last);
        acks.push(ack);
      }
      expect(acks).toHaveLength(51);
      expect(acks.slice(0, 50).map((a) => a.events.map((e) => Number(e.seq)))).toEqual(Array.from({ length: 50 }, (_, i) => [2 * i + 1, 2 * i + 2]));
      expect(acks.slice(0, 50).every((a) => !a.duplicate)).toBe(true);
      expect(acks[50]!.duplicate).toBe(true);
      expect(acks[50]!.events.map((e) => e.seq)).toEqual(acks[7]!.events.map((e) => e.seq));
      expect((await sessions.getSession({ sessionId })).session!.headSeq).toBe(100n);
    });
  }

  for (const name of ["grpc", "connect (HTTP/2)"]) it(`${name}: a refused request ends the stream with its error, after the acks of the requests before it`, async () => {
    const sessions = createClient(SessionService, transports[name]!);
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const sessionId = session!.sessionId;
    const input = feed<{ sessionId: string; events: ReturnType<typeof custom>[]; expectedHeadSeq?: bigint }>();
    const acks: bigint[] = [];
    const stream = (async () => {
      for await (const ack of sessions.appendEvents(input.requests())) acks.push(ack.events[0]!.seq);
    })();
    input.push({ sessionId, events: [custom(1)], expectedHeadSeq: 0n });
    input.push({ sessionId, events: [custom(2)], expectedHeadSeq: 1n });
    input.push({ sessionId, events: [custom(3)], expectedHeadSeq: 1n }); // stale
    const err = await stream.then(() => undefined, (e: unknown) => ConnectError.from(e));
    input.end();
    expect(acks).toEqual([1n, 2n]);
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(reasonOf(err)).toBe("HEAD_SEQ_MISMATCH");
    expect((await sessions.getSession({ sessionId })).session!.headSeq).toBe(2n);
  }, 10_000);

  it("a request that breaks a rule is refused with the field named, and nothing of it is written", async () => {
    const sessions = createClient(SessionService, app.grpc);
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const sessionId = session!.sessionId;
    async function* requests() {
      yield { sessionId, events: [custom(1)] };
      yield { sessionId, events: [] };
    }
    const acks: bigint[] = [];
    const err = await (async () => {
      for await (const ack of sessions.appendEvents(requests())) acks.push(ack.events[0]!.seq);
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(acks).toEqual([1n]);
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(reasonOf(err)).toBe("INVALID_FIELD");
    expect((await sessions.getSession({ sessionId })).session!.headSeq).toBe(1n);
  });

  // The SDK's appender: one stream over gRPC and Connect on HTTP/2, EmitEvents calls over HTTP/1.1.
  for (const [name, options] of [
    ["grpc", { protocol: "grpc" }],
    ["connect, HTTP/2", { protocol: "connect", httpVersion: "2" }],
    ["connect, HTTP/1.1", { protocol: "connect", httpVersion: "1.1" }],
  ] as const) {
    it(`SDK appender over ${name}: concurrent appends land in call order; a refused one rejects alone and the rest are written once`, async () => {
      const { sessions } = createOmaClient({ baseUrl: app.url, token: app.adminToken, ...options });
      const { session } = await sessions.createSession({ agent: { model: "m" } });
      const sessionId = session!.sessionId;
      const appender = sessions.openAppender();
      const first = await Promise.all(Array.from({ length: 40 }, (_, i) => appender.append(sessionId, [custom(i).payload])));
      expect(first.map((r) => Number(r.events[0]!.seq))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const results = await Promise.allSettled([
        appender.append(sessionId, [custom(40).payload]),
        appender.append(sessionId, [custom(41).payload], { expectedHeadSeq: 0 }), // stale
        appender.append(sessionId, [custom(42).payload]),
      ]);
      await appender.close();
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(reasonOf((results[1] as PromiseRejectedResult).reason)).toBe("HEAD_SEQ_MISMATCH");
      const { events } = await sessions.getEvents({ sessionId, afterSeq: 40n, limit: 10 });
      expect(events.map((e) => (e.payload.case === "custom" ? e.payload.value.data?.["i"] : undefined))).toEqual([40, 42]);
    });
  }
});
