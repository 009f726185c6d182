import { Code } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import type { WatchEventsResponse } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { customEvent, expectRpcError, newSession, range, textEvent, type SessionClient } from "./session-test-kit.js";

type Message = WatchEventsResponse["message"];

/** Reads messages until `done` says so; the stream is closed by leaving the loop. */
async function take(client: SessionClient, sessionId: string, afterSeq: number, done: (messages: Message[]) => boolean): Promise<Message[]> {
  const messages: Message[] = [];
  for await (const res of client.watchEvents({ sessionId, afterSeq: BigInt(afterSeq) })) {
    messages.push(res.message);
    if (done(messages)) break;
  }
  return messages;
}
const eventSeqs = (messages: Message[]) => messages.flatMap((m) => (m.case === "event" ? [Number(m.value.seq)] : []));

/**
 * A watcher that drops its stream after a random number of events and reconnects with the
 * last seq it received, until it has seen `target` (SESS-12).
 */
async function resumingWatcher(client: SessionClient, sessionId: string, target: number): Promise<{ seqs: number[]; connections: number }> {
  const seqs: number[] = [];
  let connections = 0;
  while ((seqs.at(-1) ?? 0) < target) {
    connections++;
    const budget = 1 + Math.floor(Math.random() * 40);
    let received = 0;
    try {
      for await (const res of client.watchEvents({ sessionId, afterSeq: BigInt(seqs.at(-1) ?? 0) })) {
        if (res.message.case !== "event") continue;
        seqs.push(Number(res.message.value.seq));
        if (++received >= budget || Number(res.message.value.seq) >= target) break;
      }
    } catch (err) {
      if (reasonOf(err) !== "WATCHER_TOO_SLOW") throw err;
    }
  }
  return { seqs, connections };
}

describe("SessionService: WatchEvents (real server)", () => {
  let app: TestApp;
  let client: SessionClient;
  let tight: TestApp;
  let tightClient: SessionClient;
  beforeAll(async () => {
    app = await startTestApp({ limits: { watchHeartbeatMs: 200 } });
    client = app.client(SessionService);
    tight = await startTestApp({ limits: { maxWatchLagEvents: 300 } });
    tightClient = tight.client(SessionService);
  });
  afterAll(async () => {
    await app.stop();
    await tight.stop();
  });

  it("SESS-12: replays after after_seq, sends caught_up once with the head, then live events", async () => {
    const sessionId = await newSession(client);
    await client.emitEvents({ sessionId, events: range(1, 5).map((i) => textEvent(`${i}`)) });
    const watching = take(client, sessionId, 2, (m) => eventSeqs(m).includes(8));
    await sleep(50);
    await client.emitEvents({ sessionId, events: range(6, 8).map((i) => textEvent(`${i}`)) });
    const messages = await watching;
    expect(eventSeqs(messages)).toEqual([3, 4, 5, 6, 7, 8]);
    const caughtUp = messages.filter((m) => m.case === "caughtUp");
    expect(caughtUp).toHaveLength(1);
    // caught_up comes right after the replayed head it reports.
    const at = messages.findIndex((m) => m.case === "caughtUp");
    const reported = Number((caughtUp[0]!.value as { headSeq: bigint }).headSeq);
    expect(eventSeqs(messages.slice(0, at)).at(-1) ?? 2).toBe(reported);
    expect(reported).toBeGreaterThanOrEqual(5);
  });

  it("SESS-12: watching from the head sends caught_up at once; an empty session too", async () => {
    const sessionId = await newSession(client);
    expect(await take(client, sessionId, 0, () => true)).toEqual([{ case: "caughtUp", value: expect.objectContaining({ headSeq: 0n }) }]);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    expect(await take(client, sessionId, 1, () => true)).toEqual([{ case: "caughtUp", value: expect.objectContaining({ headSeq: 1n }) }]);
  });

  it("SESS-13: an idle watch gets heartbeats carrying the head", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    const messages = await take(client, sessionId, 0, (m) => m.filter((x) => x.case === "heartbeat").length === 2);
    expect(messages.map((m) => m.case)).toEqual(["event", "caughtUp", "heartbeat", "heartbeat"]);
    expect((messages[3]!.value as { headSeq: bigint }).headSeq).toBe(1n);
  });

  it("SESS-12/SESS-11: bad starts: negative after_seq INVALID_FIELD, beyond the head OUT_OF_RANGE, unknown session NOT_FOUND", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("a") });
    await expectRpcError(take(client, sessionId, -1, () => true), Code.InvalidArgument, "INVALID_FIELD", "after_seq");
    const info = await expectRpcError(take(client, sessionId, 2, () => true), Code.OutOfRange, "SEQ_OUT_OF_RANGE");
    expect(info.metadata["head_seq"]).toBe("1");
    await expectRpcError(take(client, "no-such-session-" + sessionId, 0, () => true), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(take(client, "../x", 0, () => true), Code.InvalidArgument, "INVALID_FIELD", "session_id");
  });

  it("SESS-13/SESS-19: deleting the session ends its watches with NOT_FOUND / SESSION_NOT_FOUND", async () => {
    const sessionId = await newSession(client);
    const watches = Promise.allSettled(range(1, 3).map(() => take(client, sessionId, 0, () => false)));
    await sleep(100);
    await client.deleteSession({ sessionId });
    for (const settled of await watches) {
      await expectRpcError(settled.status === "rejected" ? Promise.reject(settled.reason) : Promise.resolve(), Code.NotFound, "SESSION_NOT_FOUND");
    }
  });

  it("SESS-12: watchers that drop and resume from their last seq while appends go on see every event once, in order", async () => {
    const sessionId = await newSession(client);
    const emitters = 4;
    const perEmitter = 100;
    const total = emitters * perEmitter;
    const watchers = range(1, 8).map(async (w) => {
      await sleep(w * 15);
      return resumingWatcher(client, sessionId, total);
    });
    await Promise.all(
      range(1, emitters).map(async (e) => {
        for (let i = 0; i < perEmitter; i++) {
          await client.emitEvent({ sessionId, event: textEvent(`${e}:${i}`) });
          if (i % 10 === 0) await sleep(Math.random() * 5);
        }
      }),
    );
    for (const result of await Promise.all(watchers)) {
      expect(result.seqs).toEqual(range(1, total));
      expect(result.connections).toBeGreaterThan(1);
    }
  }, 30_000);

  it("SESS-13: a watcher that stops reading ends with WATCHER_TOO_SLOW, never delays appends, and resumes without loss", async () => {
    const sessionId = await newSession(tightClient);
    const batches = 32;
    const head = batches * 100;
    // A healthy watcher (on its own connection) gets everything: nobody else is delayed (SESS-13).
    const ownConnection = tight.client(SessionService, tight.transport(tight.adminToken));
    const healthySeqs: number[] = [];
    const healthy = take(ownConnection, sessionId, 0, (m) => {
      if (m.at(-1)?.case === "event") healthySeqs.push(Number((m.at(-1)!.value as { seq: bigint }).seq));
      return healthySeqs.at(-1) === head;
    }).then(eventSeqs, (err: unknown) => err);
    const stream = tightClient.watchEvents({ sessionId })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.message.case).toBe("caughtUp");
    // The watcher now reads nothing while far more than the socket buffers can hold is appended.
    const payload = "x".repeat(8 * 1024);
    for (let batch = 0; batch < batches; batch++) {
      await tightClient.emitEvents({ sessionId, events: range(1, 100).map((i) => customEvent("bulk", { i, payload })) });
      // Paced by the healthy watcher, which therefore never lags; the stuck one falls behind.
      for (let waited = 0; (healthySeqs.at(-1) ?? 0) < (batch + 1) * 100; waited += 5) {
        if (waited > 10_000) throw new Error(`healthy watcher stalled at ${healthySeqs.at(-1)}`);
        await sleep(5);
      }
    }
    expect(await healthy).toEqual(range(1, head));
    const received: number[] = [];
    let failure: unknown;
    try {
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        if (next.value.message.case === "event") received.push(Number(next.value.message.value.seq));
      }
    } catch (err) {
      failure = err;
    }
    const info = await expectRpcError(Promise.reject(failure), Code.ResourceExhausted, "WATCHER_TOO_SLOW");
    expect(received.length).toBeLessThan(head);
    expect(received).toEqual(range(1, received.length));
    expect(info.metadata).toMatchObject({ last_sent_seq: String(received.length), buffer_limit: "300" });
    // Resume from the last seq received: everything else arrives, once.
    const rest = await take(tightClient, sessionId, received.length, (m) => m.some((x) => x.case === "caughtUp"));
    expect([...received, ...eventSeqs(rest)]).toEqual(range(1, head));
  }, 30_000);
});
