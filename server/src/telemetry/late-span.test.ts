import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context, type Span } from "@opentelemetry/api";
import { hrTimeToMilliseconds, suppressTracing } from "@opentelemetry/core";
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { LATE_SPAN_DELAY_MS, LATE_SPANS_WAITING_MAX, LateSpans } from "./late-span.js";

// LateSpans with the official SDK: spans go to memory as they end, and each span made is counted.
const exporter = new InMemorySpanExporter();
const made: Span[] = [];
const counter: SpanProcessor = { onStart: (span) => void made.push(span), onEnd: () => undefined, forceFlush: async () => undefined, shutdown: async () => undefined };
function lateSpans(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() }), before: SpanProcessor[] = []): LateSpans {
  const spans: LateSpans = new LateSpans(sampler, () => provider.getTracer("test"));
  const provider = new BasicTracerProvider({ sampler, idGenerator: spans.idGenerator, spanProcessors: [...before, counter, new SimpleSpanProcessor(exporter)] });
  return spans;
}
afterEach(() => {
  exporter.reset();
  made.length = 0;
});

const caller: Context = trace.setSpanContext(ROOT_CONTEXT, { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), traceFlags: TraceFlags.SAMPLED, isRemote: true });
const startMs = (s: ReadableSpan) => hrTimeToMilliseconds(s.startTime);
const endMs = (s: ReadableSpan) => hrTimeToMilliseconds(s.endTime);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const madeLater = () => sleep(LATE_SPAN_DELAY_MS + 15);
const finished = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name)!;

describe("LateSpans: spans the SDK makes once they have ended", () => {
  it("makes nothing with the SDK until the span has ended, then LATE_SPAN_DELAY_MS later, with what was done to it and the times it ran", async () => {
    const spans = lateSpans();
    const before = Date.now();
    const span = spans.start("oma.v1.SessionService/GetEvents", { kind: SpanKind.SERVER, attributes: { "rpc.method": "GetEvents" } }, caller);
    await sleep(30);
    span.setAttributes({ "oma.session.seq": 7 });
    span.addEvent("retried", { attempt: 1 });
    span.end();
    const after = Date.now();
    // Nothing of the SDK ran while the work ran, nor right at its end, nor on the next turn.
    expect(made).toHaveLength(0);
    await nextTurn();
    expect(made).toHaveLength(0);
    await madeLater();
    const [s] = exporter.getFinishedSpans();
    expect(made).toHaveLength(1);
    expect(s!.name).toBe("oma.v1.SessionService/GetEvents");
    expect(s!.kind).toBe(SpanKind.SERVER);
    expect(s!.parentSpanContext?.spanId).toBe(trace.getSpanContext(caller)!.spanId);
    expect(s!.spanContext().traceId).toBe(trace.getSpanContext(caller)!.traceId);
    expect(s!.attributes).toEqual({ "rpc.method": "GetEvents", "oma.session.seq": 7 });
    // It spans the work: from its start (the wall clock's millisecond) to its end.
    expect(startMs(s!)).toBeGreaterThanOrEqual(before);
    expect(endMs(s!)).toBeLessThanOrEqual(after + 1);
    expect(endMs(s!) - startMs(s!)).toBeGreaterThanOrEqual(29);
    // The event keeps the time it happened, not the time the span was made.
    expect(s!.events.map((e) => e.name)).toEqual(["retried"]);
    expect(hrTimeToMilliseconds(s!.events[0]!.time)).toBeGreaterThanOrEqual(startMs(s!) + 29);
    expect(hrTimeToMilliseconds(s!.events[0]!.time)).toBeLessThanOrEqual(endMs(s!));
  });

  it("gives a context before the span is made that names the span the SDK makes, for children here and elsewhere", async () => {
    const spans = lateSpans();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("elsewhere");
    const root = spans.start("oma.v1.HarnessService/Wake", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    const ids = root.spanContext();
    expect(trace.isSpanContextValid(ids)).toBe(true);
    expect(ids.traceFlags).toBe(TraceFlags.SAMPLED);
    expect(made).toHaveLength(0);
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    // A late child, and an SDK span of another tracer (as another process would make from the headers).
    const child = spans.start("invoke_agent", {}, ctx);
    const other = tracer.startSpan("elsewhere", {}, trace.setSpanContext(ROOT_CONTEXT, { ...ids, isRemote: true }));
    other.end();
    child.end();
    root.end();
    await madeLater();
    const wake = finished("oma.v1.HarnessService/Wake");
    expect(wake.spanContext().spanId).toBe(ids.spanId);
    expect(wake.spanContext().traceId).toBe(ids.traceId);
    expect(wake.parentSpanContext).toBeUndefined();
    for (const name of ["invoke_agent", "elsewhere"]) {
      expect(finished(name).parentSpanContext?.spanId, name).toBe(ids.spanId);
      expect(finished(name).spanContext().traceId, name).toBe(ids.traceId);
    }
  });

  it("records a failure's status and exception, ends once, and ignores what is done to it after its end", async () => {
    const spans = lateSpans();
    const span = spans.start("oma.v1.SandboxService/Execute", {}, caller);
    span.setAttributes({ "rpc.grpc.status_code": 14 });
    span.recordException(new Error("sandbox lost"));
    span.setStatus({ code: SpanStatusCode.ERROR, message: "sandbox lost" });
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(span.isRecording()).toBe(false);
    span.setAttributes({ late: true });
    span.updateName("renamed");
    span.end();
    await madeLater();
    const spansMade = exporter.getFinishedSpans();
    expect(spansMade).toHaveLength(1);
    const [s] = spansMade;
    expect(s!.name).toBe("oma.v1.SandboxService/Execute");
    expect(s!.attributes).toEqual({ "rpc.grpc.status_code": 14 });
    expect(s!.status).toEqual({ code: SpanStatusCode.ERROR, message: "sandbox lost" });
    expect(s!.events.map((e) => [e.name, e.attributes?.["exception.message"]])).toEqual([["exception", "sandbox lost"]]);
  });

  it("takes the sampler's decision ahead as the SDK takes it later: an unsampled caller's span records nothing", async () => {
    const spans = lateSpans();
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { ...trace.getSpanContext(caller)!, traceFlags: TraceFlags.NONE });
    const span = spans.start("oma.v1.SessionService/EmitEvent", {}, unsampled);
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
    span.end();
    await madeLater();
    expect(made).toHaveLength(0);
    // By trace id: whether the context said sampled, asked ahead or not, is whether the SDK recorded it.
    const ratio = lateSpans(new TraceIdRatioBasedSampler(0.5));
    const ahead = Array.from({ length: 200 }, (_, i) => ratio.start(`s${i}`, {}, ROOT_CONTEXT));
    const asked = ahead.map((s, i) => (i % 2 === 0 ? s.spanContext() : undefined));
    for (const s of ahead) s.end();
    await madeLater();
    const recorded = new Set(exporter.getFinishedSpans().map((s) => s.name));
    expect(recorded.size).toBeGreaterThan(50);
    expect(recorded.size).toBeLessThan(150);
    asked.forEach((ids, i) => {
      if (ids) expect(recorded.has(`s${i}`)).toBe(ids.traceFlags === TraceFlags.SAMPLED);
    });
  });

  it("makes every ended span at once on flush, and nothing where tracing is suppressed", async () => {
    const spans = lateSpans();
    spans.start("a", {}, caller).end();
    spans.start("b", {}, caller).end();
    const suppressed = spans.start("c", {}, suppressTracing(caller));
    expect(suppressed.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(suppressed.spanContext())).toBe(false);
    suppressed.end();
    spans.flush();
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(["a", "b"]);
    await madeLater();
    expect(exporter.getFinishedSpans()).toHaveLength(2);
  });

  it("loses only a span its processor throws on, not the others, and throws nothing", () => {
    let thrown = 0;
    const throwing: SpanProcessor = {
      onStart: (span) => {
        if ((span as unknown as ReadableSpan).name !== "bad") return;
        thrown++;
        throw new Error("processor failed");
      },
      onEnd: () => undefined,
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const spans = lateSpans(undefined, [throwing]);
    spans.start("bad", {}, caller).end();
    spans.start("good", {}, caller).end();
    expect(() => spans.flush()).not.toThrow();
    expect(thrown).toBe(1);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["good"]);
  });

  it("makes the waiting spans on the next turn once LATE_SPANS_WAITING_MAX are waiting", async () => {
    const spans = lateSpans();
    for (let i = 0; i < LATE_SPANS_WAITING_MAX - 1; i++) spans.start(`s${i}`, {}, caller).end();
    await nextTurn();
    expect(made).toHaveLength(0);
    spans.start("last", {}, caller).end();
    await nextTurn();
    expect(made).toHaveLength(LATE_SPANS_WAITING_MAX);
  });
});
