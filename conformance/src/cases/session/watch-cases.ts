import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { watch } from "../watch.js";
import { appendMany, appendTexts, checkConsecutive, newSession, S, texts } from "./session-helpers.js";

const core = { feature: "session.core", level: "MUST" } as const;

export const watchCases: ConformanceCase[] = [
  {
    ...core,
    id: "session/SESS-12/replay-caught-up-live",
    requirement: "SESS-12",
    title: "a watch replays the log, sends caught_up with the head once, then live events in order",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 5);
      let appended = false;
      const log = await watch(ctx, sessionId, {
        withinMs: 10_000,
        until: (l) => l.events.length >= 8,
        onMessage: async (l) => {
          if (l.caughtUp.length === 1 && !appended) {
            appended = true;
            await appendTexts(ctx, sessionId, 3, "live");
          }
        },
      });
      checkConsecutive(log.events, 1, "watched events");
      checkDeepEqual(log.caughtUp, [5], "caught_up heads");
      checkDeepEqual(log.caughtUpAt, [5], "caught_up position (after the 5 replayed events)");
      checkDeepEqual(texts(log.events.slice(5)), ["live1", "live2", "live3"], "live events");
    },
  },
  {
    ...core,
    id: "session/SESS-12/after-seq-and-out-of-range",
    requirement: "SESS-12",
    title: "a watch from after_seq sends only greater seqs; after_seq above the head is SEQ_OUT_OF_RANGE",
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 6);
      const log = await watch(ctx, sessionId, { afterSeq: 4, withinMs: 10_000, until: (l) => l.caughtUp.length > 0 });
      checkDeepEqual(log.events.map((e) => e.seq), [5, 6], "seqs after 4");
      checkDeepEqual(log.caughtUp, [6], "caught_up");
      const empty = await newSession(ctx);
      const none = await watch(ctx, empty, { withinMs: 10_000, until: (l) => l.caughtUp.length > 0 });
      checkDeepEqual(none.caughtUp, [0], "caught_up of an empty log");
      const late = await watch(ctx, sessionId, { afterSeq: 7, withinMs: 10_000, until: () => false, allowEnd: true });
      check(late.error?.codeName === "OUT_OF_RANGE" && late.error.reason === "SEQ_OUT_OF_RANGE", `after_seq 7 at head 6: expected OUT_OF_RANGE/SEQ_OUT_OF_RANGE, got ${late.error?.describe() ?? "no error"}`);
    },
  },
  {
    ...core,
    id: "session/SESS-12/resume-without-gap-or-duplicate",
    requirement: "SESS-12",
    title: "a watch dropped mid-stream and resumed from its last seq misses nothing and repeats nothing",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      // Sizes stay well inside max_watch_lag_events, where SESS-13 would allow a cut-off.
      const n = Math.min(300, Math.floor(ctx.limits.maxWatchLagEvents / 3));
      await appendMany(ctx, sessionId, n);
      const first = await watch(ctx, sessionId, { withinMs: 10_000, until: (l) => l.events.length >= Math.floor(n / 2) });
      const writer = (async () => {
        for (let i = 0; i < 20; i++) await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(`w${i}`) });
      })();
      writer.catch(() => undefined); // awaited below, unless the watch fails first
      const last = Number(first.events.at(-1)!.seq);
      const second = await watch(ctx, sessionId, { afterSeq: last, withinMs: 20_000, until: (l) => Number(l.events.at(-1)?.seq ?? 0) >= n + 20 });
      await writer;
      const all = [...first.events, ...second.events];
      checkConsecutive(all, 1, "events across the reconnect");
      checkEqual(all.length, n + 20, "events seen in total");
    },
  },
  {
    ...core,
    id: "session/SESS-12/appends-during-replay",
    requirement: "SESS-12",
    title: "events appended while a long replay is in progress are delivered once, in order, with no gap",
    timeoutMs: 60_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      // A long replay, but well inside max_watch_lag_events, where SESS-13 would allow a cut-off.
      const n = Math.min(2000, Math.floor(ctx.limits.maxWatchLagEvents / 3));
      const batches = Math.max(1, Math.min(10, Math.floor(n / 20)));
      await appendMany(ctx, sessionId, n);
      let writer: Promise<void> | undefined;
      let allAt: number | undefined;
      const log = await watch(ctx, sessionId, {
        withinMs: 45_000,
        // Every event came: caught_up must have come too, or follow at once (heartbeats wake this check).
        until: (l) => {
          if (Number(l.events.at(-1)?.seq ?? 0) >= n + batches * 10) allAt ??= Date.now();
          return allAt !== undefined && (l.caughtUp.length > 0 || Date.now() - allAt > ctx.scaled(2000));
        },
        onMessage: (l) => {
          if (l.events.length === 1) {
            writer = (async () => {
              for (let i = 0; i < batches; i++) {
                await ctx.rpc.unary(S.emitEvents, { sessionId, events: Array.from({ length: 10 }, (_, j) => userText(`d${i}-${j}`)) });
              }
            })();
            writer.catch(() => undefined); // awaited below, unless the watch fails first
          }
        },
      });
      await writer;
      checkConsecutive(log.events, 1, "watched events");
      checkEqual(log.caughtUp.length, 1, "caught_up count");
      const head = log.caughtUp[0]!;
      check(head >= n && head <= n + batches * 10, `caught_up head ${head} must lie between ${n} and ${n + batches * 10}`);
      checkEqual(log.caughtUpAt[0], head, "caught_up arrives right after the event with its head seq");
    },
  },
  {
    ...core,
    id: "session/SESS-12/multi-page-replay-handover",
    requirement: "SESS-12",
    title: "a replay longer than any storage read (2 × max_page_size events) hands over to live events appended while its last pages are read: each once, in order, caught_up once after its head",
    timeoutMs: 90_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      // Longer than one read of any storage (a read is at most a page), so the replay takes
      // several; the racing appends start once the watcher is a quarter of the lag bound
      // from the head and stay well within it, where SESS-13 would allow a cut-off.
      const n = 2 * ctx.limits.maxPageSize + 100;
      const racing = Math.max(20, Math.min(200, Math.floor(ctx.limits.maxWatchLagEvents / 4)));
      await appendMany(ctx, sessionId, n);
      let writer: Promise<void> | undefined;
      let allAt: number | undefined;
      const log = await watch(ctx, sessionId, {
        withinMs: 75_000,
        // Stops at the first gap, at a caught_up that is not right after its head, or when
        // every event came and no caught_up follows (heartbeats wake this check): the checks
        // below then say what went wrong.
        until: (l) => {
          if (l.events.length >= n + racing) allAt ??= Date.now();
          return (
            Number(l.events.at(-1)?.seq ?? 0) !== l.events.length ||
            l.caughtUp.some((head, i) => head !== l.caughtUpAt[i]) ||
            (allAt !== undefined && (l.caughtUp.length > 0 || Date.now() - allAt > ctx.scaled(2000)))
          );
        },
        onMessage: (l) => {
          if (writer === undefined && l.events.length >= n - racing) {
            writer = (async () => {
              for (let i = 0; i < racing; i += 5) {
                await ctx.rpc.unary(S.emitEvents, { sessionId, events: Array.from({ length: Math.min(5, racing - i) }, (_, j) => userText(`r${i + j}`)) });
              }
            })();
            // Awaited below; if the watch fails first, its failure is the case's, and a
            // writer cut off when the run closes its channel must not surface on its own.
            writer.catch(() => undefined);
          }
        },
      });
      await writer;
      checkConsecutive(log.events, 1, "watched events");
      checkEqual(log.caughtUpAt[0], log.caughtUp[0], "caught_up arrives right after the event with its head seq (its position in the stream)");
      checkEqual(log.events.length, n + racing, "events delivered");
      checkEqual(log.caughtUp.length, 1, "caught_up count (after the head the replay reached)");
      checkDeepEqual(texts(log.events.slice(n)), Array.from({ length: racing }, (_, i) => `r${i}`), "the racing appends, in order");
    },
  },
  {
    ...core,
    id: "session/SESS-13/many-watchers",
    requirement: "SESS-13",
    title: "several watchers of one session each receive every event exactly once",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 3);
      const watchers = Array.from({ length: 5 }, () =>
        watch(ctx, sessionId, { withinMs: 20_000, until: (l) => l.events.length >= 23 }),
      );
      // Awaited below; if the appends fail first, that failure is the case's.
      for (const w of watchers) w.catch(() => undefined);
      await appendMany(ctx, sessionId, 20, "n");
      const logs = await Promise.all(watchers);
      for (const [i, log] of logs.entries()) checkConsecutive(log.events, 1, `watcher ${i}`);
    },
  },
  {
    ...core,
    id: "session/SESS-13/slow-watcher-cut-off",
    requirement: "SESS-13",
    title: "a watcher that stops reading does not block appends; beyond max_watch_lag_events its stream ends WATCHER_TOO_SLOW",
    // A guard against a hang, not a bound of the requirement: it appends ~24 MB and reads
    // it back, 2 s alone and 70–100 s beside a whole run's other cases on a busy two-core host.
    timeoutMs: 240_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      const lag = ctx.limits.maxWatchLagEvents;
      // grpc-js stops reading when the consumer does, so the backlog stays on the server;
      // an HTTP/1.1 client may buffer the whole response and hide the lag.
      const client = ctx.newClient("grpc");
      const stop = new AbortController();
      ctx.signal.addEventListener("abort", () => stop.abort(), { once: true });
      const stream = client.serverStream(S.watchEvents, { sessionId }, { signal: stop.signal })[Symbol.asyncIterator]();
      const firstMsg = await stream.next();
      check(!firstMsg.done && firstMsg.value.message.case === "caughtUp", "the watch of an empty log must start with caught_up");
      // The watcher now reads nothing while the log grows well past the lag bound. Events
      // are padded so the backlog (tens of MB) exceeds what sockets and HTTP/2 windows hold.
      const total = lag + 2 * ctx.limits.maxBatchEvents + 500;
      const pad = Math.min(Math.floor(ctx.limits.maxEventBytes / 2), Math.max(2048, Math.ceil(24_000_000 / total)));
      await appendMany(ctx, sessionId, total, "s", pad);
      let received = 0;
      let lastSeq = 0;
      let ended: string | undefined;
      try {
        for (let r = await stream.next(); !r.done; r = await stream.next()) {
          if (r.value.message.case === "event") {
            received++;
            lastSeq = Number(r.value.message.value.seq);
            if (lastSeq >= total) break;
          }
        }
        ended = "all events delivered";
      } catch (err) {
        const e = err as { codeName?: string; reason?: string; metadata?: Record<string, string> };
        ended = `${e.codeName}/${e.reason}`;
        if (ended === "RESOURCE_EXHAUSTED/WATCHER_TOO_SLOW") {
          // Messages in flight when the stream ended may not reach the client; it resumes
          // from what it received, so the server's last_sent_seq is only bounded below.
          const sent = Number(e.metadata?.["last_sent_seq"]);
          check(Number.isInteger(sent) && sent >= lastSeq, `metadata last_sent_seq must be at least the last seq received (${lastSeq}), got ${e.metadata?.["last_sent_seq"]}`);
        }
      } finally {
        stop.abort();
      }
      checkEqual(ended, "RESOURCE_EXHAUSTED/WATCHER_TOO_SLOW", `how a watcher ${total} events behind ended (received ${received})`);
      const resumed = await watch(ctx, sessionId, { afterSeq: lastSeq, withinMs: 60_000, until: (l) => l.caughtUp.length > 0 });
      checkConsecutive(resumed.events, lastSeq + 1, "events after resuming");
    },
  },
  {
    ...core,
    id: "session/SESS-13/heartbeat",
    requirement: "SESS-13",
    title: "an idle watch receives a heartbeat with the head within the heartbeat interval (15 s)",
    timeoutMs: 30_000,
    async run(ctx) {
      const sessionId = await newSession(ctx);
      await appendTexts(ctx, sessionId, 2);
      const log = await watch(ctx, sessionId, { withinMs: 20_000, until: (l) => l.heartbeats.length > 0 });
      checkDeepEqual(log.heartbeats, [2], "heartbeat head_seq");
    },
  },
];

