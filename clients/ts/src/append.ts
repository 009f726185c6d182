import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AppendEventsRequest, AppendEventsResponse, EmitEventsResponse, SessionService } from "./gen/oma/v1/session_service_pb.js";
import { emitEvents, newIdempotencyKey, type EmitOptions, type EventPayloadInit } from "./emit.js";
import { reasonOf } from "./errors.js";
import { defaultAttemptTimeoutMs, type RetryOptions } from "./retry.js";

type Request = Omit<AppendEventsRequest, "$typeName" | "$unknown" | "events"> & { events: { payload: EventPayloadInit }[] };

/** Many appends over one stream; see openAppender. */
export interface Appender {
  /** Appends an atomic batch; resolves once it is durable, in the order of the calls. */
  append(sessionId: string, payloads: readonly EventPayloadInit[], options?: EmitOptions): Promise<AppendEventsResponse | EmitEventsResponse>;
  /** Ends the stream once every append is answered. */
  close(): Promise<void>;
}

interface Pending {
  readonly request: Request;
  /** The caller's retry options, for an EmitEvents resend of this append. */
  readonly retry: RetryOptions;
  readonly resolve: (res: AppendEventsResponse | EmitEventsResponse) => void;
  readonly reject: (err: unknown) => void;
  /** When it was put on a stream (ms); its ack is due `retry.timeoutMs` later. */
  sentAt?: number;
}

/**
 * Appends for a writer that appends a lot. Where the transport carries bidirectional
 * streams (gRPC; Connect or gRPC-Web over HTTP/2) they go over one AppendEvents stream
 * (SESS-22): sent at once, acknowledged in order when durable, sharing the server's synced
 * writes. Where it does not (HTTP/1.1), each append is an EmitEvents call, one at a time,
 * so that they too are written in the order of the calls. Every append
 * carries an idempotency key, so when a stream breaks, the appends it left unanswered are
 * sent again with EmitEvents, in order, and none is written twice (SESS-3); an append the
 * server refused rejects with the server's error. A resend retries transport faults as the
 * caller's options say; appends made meanwhile wait for it, then go over a new stream. A
 * server that does not serve AppendEvents (UNIMPLEMENTED) gets every later append as an
 * EmitEvents call, one at a time, in order. An append's ack is due within its `timeoutMs`
 * (default 30 s, as for any call): a stream that goes quiet past that (a connection that
 * died without a word) is cancelled, and its unanswered appends are sent again.
 */
export function openAppender(client: Pick<Client<typeof SessionService>, "appendEvents" | "emitEvents">, options: { streams: boolean }): Appender {
  let stream: { send(p: Pending): void; end(): void; done: Promise<void> } | undefined;
  let resending: Promise<void> = Promise.resolve();
  /** Appends waiting to be sent again, one EmitEvents call at a time. */
  let toResend = 0;
  /** Appends made while resends were under way: sent over a stream once the last is answered, to keep the order. */
  const held: Pending[] = [];
  /** Without streams (HTTP/1.1), or once the server answered UNIMPLEMENTED: every append is an EmitEvents call, in order. */
  let unserved = !options.streams;

  const send = (p: Pending) => {
    if (unserved) return resend([p]);
    stream ??= open();
    stream.send(p);
  };

  const resend = (unanswered: Pending[]) => {
    toResend += unanswered.length;
    resending = resending.then(async () => {
      for (const p of unanswered) {
        const { sessionId, events, idempotencyKey, expectedHeadSeq, leaseEpoch } = p.request;
        await emitEvents(client, sessionId, events.map((e) => e.payload), { ...p.retry, idempotencyKey, expectedHeadSeq, leaseEpoch }).then(p.resolve, p.reject);
        toResend--;
      }
      // Back to a stream: a writer that keeps appending would otherwise stay on EmitEvents calls for good.
      if (toResend === 0) for (const p of held.splice(0)) send(p);
    });
  };

  const open = () => {
    const pending: Pending[] = [];
    const queue: Request[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const cancel = new AbortController();
    let overdue: ReturnType<typeof setTimeout> | undefined;
    /** Cancels the stream when the oldest unanswered append's ack is due and has not come. */
    const watch = () => {
      clearTimeout(overdue);
      const oldest = pending[0];
      if (!oldest) return;
      const due = oldest.sentAt! + (oldest.retry.timeoutMs ?? defaultAttemptTimeoutMs);
      overdue = setTimeout(() => cancel.abort(new ConnectError("no acknowledgement within the append's timeout", Code.DeadlineExceeded)), Math.max(0, due - Date.now()));
    };
    async function* requests() {
      for (;;) {
        const next = queue.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    const current = {
      send(p: Pending) {
        p.sentAt = Date.now();
        pending.push(p);
        if (pending.length === 1) watch();
        queue.push(p.request);
        wake?.();
      },
      end() {
        ended = true;
        wake?.();
      },
      done: Promise.resolve(),
    };
    current.done = (async () => {
      try {
        for await (const ack of client.appendEvents(requests(), { signal: cancel.signal })) {
          pending.shift()?.resolve(ack);
          watch();
        }
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.Unimplemented) unserved = true;
        // The server refused the first unanswered append; the rest are sent again.
        else if (reasonOf(err) !== "") pending.shift()?.reject(err);
      }
      clearTimeout(overdue);
      current.end();
      if (stream === current) stream = undefined;
      resend(pending.splice(0));
    })();
    return current;
  };

  return {
    append(sessionId, payloads, o = {}) {
      const { maxAttempts, backoff, signal, timeoutMs } = o;
      const retry: RetryOptions = { maxAttempts, backoff, signal, timeoutMs };
      const request: Request = {
        sessionId,
        events: payloads.map((payload) => ({ payload })),
        idempotencyKey: o.idempotencyKey ?? newIdempotencyKey(),
        ...(o.expectedHeadSeq === undefined ? {} : { expectedHeadSeq: BigInt(o.expectedHeadSeq) }),
        ...(o.leaseEpoch === undefined ? {} : { leaseEpoch: BigInt(o.leaseEpoch) }),
      };
      return new Promise((resolve, reject) => {
        const p = { request, retry, resolve, reject };
        if (toResend > 0) held.push(p);
        else send(p);
      });
    },
    async close() {
      // Until quiet: appends held behind resends may open a stream after the first one ended.
      for (;;) {
        const s = stream;
        stream = undefined;
        s?.end();
        await s?.done;
        const r = resending;
        await r;
        if (stream === undefined && r === resending) return;
      }
    },
  };
}
