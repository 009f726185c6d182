import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";

/** Requests of one stream the server holds at once; beyond, it reads no more until acks go out. */
export const MAX_APPENDS_IN_FLIGHT = 1024;

interface Appended {
  readonly events: Event[];
  readonly duplicate: boolean;
}

/**
 * AppendEvents (SESS-22). Each request is handed to the store as it arrives, in the order
 * sent (the session's lock gives seqs in call order), without waiting for the previous one
 * to be durable, so the requests in flight share synced writes (group commit); the acks go
 * out in request order, each once its append is durable. The first refused request ends the
 * stream with its error, after the acks of the requests before it; nothing more is read.
 */
export async function* appendStream<R>(requests: AsyncIterable<R>, append: (request: R) => Promise<Appended>): AsyncIterable<Appended> {
  const inFlight: Promise<Appended>[] = [];
  let readError: { error: unknown } | undefined;
  let reading = true;
  let stopped = false;
  let wakeWriter: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  const signalWriter = () => {
    wakeWriter?.();
    wakeWriter = undefined;
  };
  const reader = (async () => {
    try {
      for await (const request of requests) {
        if (stopped) break;
        const done = append(request);
        done.catch(() => undefined); // its error is thrown to the client in its turn
        inFlight.push(done);
        signalWriter();
        while (inFlight.length >= MAX_APPENDS_IN_FLIGHT && !stopped) await new Promise<void>((resolve) => (wakeReader = resolve));
      }
    } catch (error) {
      readError = { error };
    } finally {
      reading = false;
      signalWriter();
    }
  })();
  try {
    for (;;) {
      const next = inFlight.shift();
      if (next) {
        wakeReader?.();
        wakeReader = undefined;
        const { events, duplicate } = await next;
        yield { events, duplicate };
        continue;
      }
      if (!reading) {
        if (readError) throw readError.error;
        return;
      }
      await new Promise<void>((resolve) => (wakeWriter = resolve));
    }
  } finally {
    stopped = true;
    wakeReader?.();
    void reader;
  }
}
