import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OmaRpcError } from "./errors.js";
import type { Event } from "./gen/oma/v1/event_pb.js";
import { SessionService } from "./gen/oma/v1/session_service_pb.js";
import { caughtUp, eventMsg, fakeSessionService, omaError, type ScriptedStream } from "./testing/fake-session-service.js";
import { watchEvents, type WatchOptions, type WatchReconnect } from "./watch.js";

const fast = { initialDelayMs: 1, maxDelayMs: 2 };

async function collect(streams: ScriptedStream[], take: number, options: WatchOptions = {}) {
  const fake = fakeSessionService({ streams });
  const client = createClient(SessionService, fake.transport);
  const seen: Event[] = [];
  const reconnects: WatchReconnect[] = [];
  for await (const e of watchEvents(client, "ses_w", { backoff: fast, onReconnect: (r) => reconnects.push(r), ...options })) {
    seen.push(e);
    if (seen.length === take) break;
  }
  return { fake, seqs: seen.map((e) => Number(e.seq)), reconnects };
}

describe("watchEvents reconnects and resumes (SESS-12, SESS-13)", () => {
  it("resumes after UNAVAILABLE and WATCHER_TOO_SLOW from the last seq it yielded, with no gap and no duplicate", async () => {
    const { fake, seqs, reconnects } = await collect(
      [
        { send: [eventMsg(1), eventMsg(2), eventMsg(3)], thenThrow: new ConnectError("server went away", Code.Unavailable) },
        { send: [eventMsg(4), eventMsg(5), caughtUp(5), eventMsg(6)], thenThrow: omaError(Code.ResourceExhausted, "WATCHER_TOO_SLOW", { last_sent_seq: "6" }) },
        { send: [eventMsg(7), eventMsg(8)], hang: true },
      ],
      8,
    );
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fake.watchRequests.map((r) => Number(r.afterSeq))).toEqual([0, 3, 6]);
    expect(reconnects.map((r) => [r.attempt, Number(r.afterSeq)])).toEqual([[1, 3], [1, 6]]);
    expect(reconnects[1]?.error).toBeInstanceOf(OmaRpcError);
  });

  it("starts after the given seq and reconnects when a stream ends cleanly", async () => {
    const { fake, seqs } = await collect([{ send: [eventMsg(11), eventMsg(12)] }, { send: [eventMsg(13)], hang: true }], 3, { afterSeq: 10 });
    expect(seqs).toEqual([11, 12, 13]);
    expect(fake.watchRequests.map((r) => Number(r.afterSeq))).toEqual([10, 12]);
  });

  it("drops events it already yielded and reconnects from the last good seq when a stream skips one", async () => {
    const { fake, seqs } = await collect(
      [
        { send: [eventMsg(1), eventMsg(2), eventMsg(2), eventMsg(1), eventMsg(4)], hang: true },
        { send: [eventMsg(3), eventMsg(4)], hang: true },
      ],
      4,
    );
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(fake.watchRequests.map((r) => Number(r.afterSeq))).toEqual([0, 2]);
  });

  it("counts consecutive failures for the backoff and resets the count once a stream delivers", async () => {
    const down = () => ({ send: [], thenThrow: new ConnectError("connect ECONNREFUSED", Code.Unavailable) });
    const { reconnects, seqs } = await collect([down(), down(), down(), { send: [eventMsg(1)], thenThrow: new ConnectError("reset", Code.Unavailable) }, { send: [eventMsg(2)], hang: true }], 2);
    expect(seqs).toEqual([1, 2]);
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2, 3, 1]);
    for (const r of reconnects) expect(r.delayMs).toBeLessThanOrEqual(fast.maxDelayMs);
  });

  it.each([
    ["NOT_FOUND / SESSION_NOT_FOUND", omaError(Code.NotFound, "SESSION_NOT_FOUND", { session_id: "ses_w" }), Code.NotFound, "SESSION_NOT_FOUND"],
    ["INVALID_ARGUMENT / INVALID_FIELD", omaError(Code.InvalidArgument, "INVALID_FIELD", { field: "session_id" }), Code.InvalidArgument, "INVALID_FIELD"],
    ["OUT_OF_RANGE / SEQ_OUT_OF_RANGE", omaError(Code.OutOfRange, "SEQ_OUT_OF_RANGE"), Code.OutOfRange, "SEQ_OUT_OF_RANGE"],
    ["UNAUTHENTICATED", omaError(Code.Unauthenticated, "UNAUTHENTICATED"), Code.Unauthenticated, "UNAUTHENTICATED"],
  ])("gives up on %s after the events it had, with a typed error", async (_name, error, code, reason) => {
    const fake = fakeSessionService({ streams: [{ send: [eventMsg(1)], thenThrow: error }, { send: [eventMsg(2)], hang: true }] });
    const seen: number[] = [];
    const run = async () => {
      for await (const e of watchEvents(createClient(SessionService, fake.transport), "ses_w", { backoff: fast })) seen.push(Number(e.seq));
    };
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OmaRpcError);
    expect((err as OmaRpcError).code).toBe(code);
    expect((err as OmaRpcError).reason).toBe(reason);
    expect(seen).toEqual([1]);
    expect(fake.watchRequests).toHaveLength(1);
  });

  it("throws the last error after maxConsecutiveFailures failed streams in a row", async () => {
    const down = () => ({ send: [], thenThrow: new ConnectError("down", Code.Unavailable) });
    const fake = fakeSessionService({ streams: [down(), down(), down(), down()] });
    const iterate = async () => {
      for await (const _ of watchEvents(createClient(SessionService, fake.transport), "ses_w", { backoff: fast, maxConsecutiveFailures: 2 }));
    };
    const err = await iterate().then(() => undefined, (e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(fake.watchRequests).toHaveLength(3);
  });

  it("ends quietly when aborted during a backoff wait", async () => {
    const fake = fakeSessionService({ streams: [{ send: [eventMsg(1)], thenThrow: new ConnectError("down", Code.Unavailable) }] });
    const abort = new AbortController();
    const seen: number[] = [];
    const watch = watchEvents(createClient(SessionService, fake.transport), "ses_w", {
      backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      signal: abort.signal,
      onReconnect: () => abort.abort(),
    });
    for await (const e of watch) seen.push(Number(e.seq));
    expect(seen).toEqual([1]);
    expect(fake.watchRequests).toHaveLength(1);
  });

  it("aborts the stream's call when the caller leaves the loop, and reports caught_up", async () => {
    const fake = fakeSessionService({ streams: [{ send: [caughtUp(0), eventMsg(1)], hang: true }] });
    const client = createClient(SessionService, fake.transport);
    const signals: AbortSignal[] = [];
    const spy: Pick<typeof client, "watchEvents"> = {
      watchEvents: (req, options) => {
        if (options?.signal) signals.push(options.signal);
        return client.watchEvents(req, options);
      },
    };
    const heads: bigint[] = [];
    for await (const e of watchEvents(spy, "ses_w", { onCaughtUp: (h) => heads.push(h) })) {
      expect(e.seq).toBe(1n);
      break;
    }
    expect(heads).toEqual([0n]);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
  });

  it("reopens a stream that stays silent (no event, no heartbeat) for idleTimeoutMs, after the last seq", async () => {
    const { fake, seqs, reconnects } = await collect([{ send: [eventMsg(1)], hang: true }, { send: [eventMsg(2)], hang: true }], 2, { idleTimeoutMs: 30 });
    expect(seqs).toEqual([1, 2]);
    expect(fake.watchRequests.map((r) => Number(r.afterSeq))).toEqual([0, 1]);
    expect((reconnects[0]?.error as ConnectError).code).toBe(Code.DeadlineExceeded);
  });

  it("does not count the caller's time with an event as silence of the stream", async () => {
    const fake = fakeSessionService({ streams: [{ send: [eventMsg(1), eventMsg(2)], hang: true }] });
    const seen: number[] = [];
    for await (const e of watchEvents(createClient(SessionService, fake.transport), "ses_w", { idleTimeoutMs: 20, backoff: fast })) {
      seen.push(Number(e.seq));
      await new Promise((r) => setTimeout(r, 80));
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(fake.watchRequests).toHaveLength(1);
  });
});
