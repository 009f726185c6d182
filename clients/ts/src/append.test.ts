import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { openAppender } from "./append.js";
import { EventSchema, type Event } from "./gen/oma/v1/event_pb.js";
import { SessionService, type AppendEventsRequest } from "./gen/oma/v1/session_service_pb.js";

const fast = { initialDelayMs: 1, maxDelayMs: 2 };
const custom = (i: number) => ({ case: "custom" as const, value: { type: "append-test", data: { i } } });

/** A log that honours idempotency keys (SESS-3): a key seen before returns its events, written once. */
function keyedLog() {
  const events: Event[] = [];
  const byKey = new Map<string, Event[]>();
  return {
    events,
    append(req: { idempotencyKey: string; events: { payload?: Event["payload"] }[] }) {
      const seen = byKey.get(req.idempotencyKey);
      if (seen) return { events: seen, duplicate: true };
      const added = req.events.map((e) => create(EventSchema, { seq: BigInt(events.length + 1), payload: e.payload }));
      for (const e of added) events.push(e);
      byKey.set(req.idempotencyKey, added);
      return { events: added, duplicate: false };
    },
    numbers: () => events.map((e) => (e.payload.case === "custom" ? e.payload.value.data?.["i"] : undefined)),
  };
}

describe("openAppender", () => {
  it("against a server without AppendEvents, tries one stream, then sends every append as an EmitEvents call, in call order, each once", async () => {
    const log = keyedLog();
    let streams = 0;
    let emits = 0;
    const transport = createRouterTransport((router) =>
      router.service(SessionService, {
        // eslint-disable-next-line require-yield
        async *appendEvents() {
          streams++;
          throw new ConnectError("AppendEvents is not served here", Code.Unimplemented);
        },
        async emitEvents(req) {
          emits++;
          return log.append(req);
        },
      }),
    );
    const appender = openAppender(createClient(SessionService, transport), { streams: true });
    await Promise.all(Array.from({ length: 5 }, (_, i) => appender.append("ses_a", [custom(i)])));
    await Promise.all(Array.from({ length: 5 }, (_, i) => appender.append("ses_a", [custom(5 + i)])));
    await appender.close();
    expect(streams).toBe(1);
    expect(emits).toBe(10);
    expect(log.numbers()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("resends an append whose stream broke before its ack under its key, retrying as the caller's options say, and it is written once", async () => {
    const log = keyedLog();
    const keys: string[] = [];
    let emitAttempts = 0;
    const transport = createRouterTransport((router) =>
      router.service(SessionService, {
        async *appendEvents(requests: AsyncIterable<AppendEventsRequest>) {
          for await (const req of requests) {
            keys.push(req.idempotencyKey);
            log.append(req); // durable, but the connection drops before the ack
            throw new ConnectError("connection reset", Code.Unavailable);
          }
        },
        async emitEvents(req) {
          keys.push(req.idempotencyKey);
          // The server is still restarting for more attempts than the SDK's default five.
          if (++emitAttempts <= 6) throw new ConnectError("connection refused", Code.Unavailable);
          return log.append(req);
        },
      }),
    );
    const appender = openAppender(createClient(SessionService, transport), { streams: true });
    const res = await appender.append("ses_b", [custom(1)], { idempotencyKey: "k-1", leaseEpoch: 2, maxAttempts: 10, backoff: fast });
    await appender.close();
    expect(res.events.map((e) => e.seq)).toEqual([1n]);
    expect(res.duplicate).toBe(true);
    expect(emitAttempts).toBe(7);
    expect(new Set(keys)).toEqual(new Set(["k-1"]));
    expect(log.events).toHaveLength(1);
  });

  it("after resending what a broken stream left unanswered, sends the appends made meanwhile over a new stream, all in call order", async () => {
    const log = keyedLog();
    let streams = 0;
    let emits = 0;
    const transport = createRouterTransport((router) =>
      router.service(SessionService, {
        async *appendEvents(requests: AsyncIterable<AppendEventsRequest>) {
          const broken = ++streams === 1;
          for await (const req of requests) {
            if (broken) throw new ConnectError("connection reset", Code.Unavailable);
            yield log.append(req);
          }
        },
        async emitEvents(req) {
          emits++;
          await new Promise((r) => setTimeout(r, 5));
          return log.append(req);
        },
      }),
    );
    const appender = openAppender(createClient(SessionService, transport), { streams: true });
    // A writer that keeps a window of appends open, as an importer does.
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      answers.push(appender.append("ses_c", [custom(i)]));
      if (answers.length > 4) await answers[answers.length - 5];
    }
    await Promise.all(answers);
    await appender.close();
    expect(log.numbers()).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(streams).toBe(2);
    expect(emits).toBeLessThan(10);
  });

  it("cancels a stream that goes quiet past an append's timeout and resends what it left unanswered, once each", async () => {
    const log = keyedLog();
    let streams = 0;
    let cancelled = false;
    const transport = createRouterTransport((router) =>
      router.service(SessionService, {
        async *appendEvents(requests: AsyncIterable<AppendEventsRequest>, ctx) {
          streams++;
          ctx.signal.addEventListener("abort", () => (cancelled = true));
          // Takes the appends in (durable) and never answers: a connection that died without a word.
          for await (const req of requests) log.append(req);
        },
        async emitEvents(req) {
          return log.append(req);
        },
      }),
    );
    const appender = openAppender(createClient(SessionService, transport), { streams: true });
    const started = Date.now();
    const acks = await Promise.all(Array.from({ length: 3 }, (_, i) => appender.append("ses_q", [custom(i)], { timeoutMs: 200, backoff: fast })));
    await appender.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(streams).toBe(1);
    expect(cancelled).toBe(true);
    expect(acks.map((a) => a.events.map((e) => e.seq))).toEqual([[1n], [2n], [3n]]);
    expect(log.numbers()).toEqual([0, 1, 2]);
  });

  it("without streams (HTTP/1.1), sends appends one EmitEvents call at a time, so they are written in call order", async () => {
    const log = keyedLog();
    let inFlight = 0;
    let most = 0;
    const transport = createRouterTransport((router) =>
      router.service(SessionService, {
        async emitEvents(req) {
          most = Math.max(most, ++inFlight);
          // Later calls would overtake earlier ones if they were sent together.
          await new Promise((r) => setTimeout(r, Math.random() * 10));
          inFlight--;
          return log.append(req);
        },
      }),
    );
    const appender = openAppender(createClient(SessionService, transport), { streams: false });
    const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => appender.append("ses_h", [custom(i)])));
    await appender.close();
    expect(most).toBe(1);
    expect(log.numbers()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(acks.map((a) => Number(a.events[0]!.seq))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
