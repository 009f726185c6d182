import type { UnaryRequest } from "@connectrpc/connect";
import { propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CARRIED_CONTEXTS_KEPT, CARRIED_HEADERS_KEPT_BYTES, CarriedContexts } from "./carried-contexts.js";
import { traceContextInterceptor } from "./trace-propagation.js";
import { withSession } from "./tracing.js";

// The propagators `startTracing` registers.
beforeAll(() => {
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
});
afterAll(() => propagation.disable());

const traceId = (n: number) => n.toString(16).padStart(32, "0");
const spanId = (n: number) => n.toString(16).padStart(16, "0");
const traceparent = (n: number) => `00-${traceId(n)}-${spanId(n)}-01`;
const headers = (n: number, baggage = `oma.session.id=s${n},oma.session.seq=${n}`) => new Headers({ traceparent: traceparent(n), baggage });

describe("CarriedContexts: a caller's context read from its headers once", () => {
  it("gives each set of headers its own context and session attributes, and the same ones again from the cache", () => {
    const contexts = new CarriedContexts();
    const first = contexts.of(headers(1))!;
    expect(trace.getSpanContext(first.parent)).toMatchObject({ traceId: traceId(1), spanId: spanId(1), isRemote: true });
    expect(first.attributes).toEqual({ "oma.session.id": "s1", "oma.session.seq": 1 });
    const second = contexts.of(headers(2))!;
    expect(trace.getSpanContext(second.parent)?.traceId).toBe(traceId(2));
    expect(second.attributes).toEqual({ "oma.session.id": "s2", "oma.session.seq": 2 });
    // Only the baggage differs: another entry.
    expect(contexts.of(headers(1, "oma.session.id=s1,oma.session.seq=9"))!.attributes).toEqual({ "oma.session.id": "s1", "oma.session.seq": 9 });
    expect(contexts.of(headers(1))).toBe(first);
    // A baggage alone is carried; headers with neither field carry nothing.
    expect(contexts.of(new Headers({ baggage: "oma.session.id=s3" }))!.attributes).toEqual({ "oma.session.id": "s3" });
    expect(contexts.of(new Headers({ "content-type": "application/grpc" }))).toBeUndefined();
  });

  it("keeps at most CARRIED_CONTEXTS_KEPT, forgetting the oldest, and never long headers", () => {
    const contexts = new CarriedContexts();
    const first = contexts.of(headers(1))!;
    for (let n = 2; n <= CARRIED_CONTEXTS_KEPT; n++) contexts.of(headers(n));
    expect(contexts.of(headers(1))).toBe(first);
    contexts.of(headers(CARRIED_CONTEXTS_KEPT + 1)); // the oldest (1) goes
    const again = contexts.of(headers(1))!;
    expect(again).not.toBe(first);
    expect(trace.getSpanContext(again.parent)).toEqual(trace.getSpanContext(first.parent));
    expect(again.attributes).toEqual(first.attributes);
    const long = headers(7, `oma.session.id=s7,oma.session.seq=7,pad=${"x".repeat(CARRIED_HEADERS_KEPT_BYTES)}`);
    const read = contexts.of(long)!;
    expect(read.attributes).toEqual({ "oma.session.id": "s7", "oma.session.seq": 7 });
    expect(contexts.of(long)).not.toBe(read);
  });
});

describe("traceContextInterceptor: a context's headers worked out once", () => {
  /** The headers the interceptor puts on a call made while `current()` is `ctx`. */
  const sent = async (interceptor: ReturnType<typeof traceContextInterceptor>) => {
    let header: Headers | undefined;
    const req = { header: new Headers({ "content-type": "application/grpc" }) } as unknown as UnaryRequest;
    await interceptor(async (r) => {
      header = r.header;
      return undefined as never;
    })(req);
    return Object.fromEntries(header!.entries());
  };
  const contextOf = (n: number, seq: number): Context =>
    withSession(trace.setSpanContext(ROOT_CONTEXT, { traceId: traceId(n), spanId: spanId(n), traceFlags: TraceFlags.SAMPLED }), `s${n}`, seq);
  const injected = (ctx: Context) => {
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    return carrier;
  };

  it("sends what the propagators write for the current context, as it changes and back", async () => {
    const brain = contextOf(1, 3);
    const tool = contextOf(2, 5);
    let current = brain;
    const interceptor = traceContextInterceptor(() => current);
    expect(await sent(interceptor)).toEqual({ "content-type": "application/grpc", ...injected(brain) });
    expect(injected(brain)).toMatchObject({ traceparent: traceparent(1), baggage: "oma.session.id=s1,oma.session.seq=3" });
    current = tool;
    expect(await sent(interceptor)).toEqual({ "content-type": "application/grpc", ...injected(tool) });
    current = brain;
    expect(await sent(interceptor)).toEqual({ "content-type": "application/grpc", ...injected(brain) });
    current = ROOT_CONTEXT;
    expect(await sent(interceptor)).toEqual({ "content-type": "application/grpc" });
  });
});
