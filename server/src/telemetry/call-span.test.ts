import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context, type Span } from "@opentelemetry/api";
import { hrTimeToMilliseconds } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { CallSpan } from "./call-span.js";

// A CallSpan with the official SDK: spans go to memory as they end, and each span made is counted.
const exporter = new InMemorySpanExporter();
const made: Span[] = [];
const counter: SpanProcessor = { onStart: (span) => void made.push(span), onEnd: () => undefined, forceFlush: async () => undefined, shutdown: async () => undefined };
const tracer = new BasicTracerProvider({ spanProcessors: [counter, new SimpleSpanProcessor(exporter)] }).getTracer("test");
afterEach(() => {
  exporter.reset();
  made.length = 0;
});

const caller: Context = trace.setSpanContext(ROOT_CONTEXT, { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), traceFlags: TraceFlags.SAMPLED, isRemote: true });
const startMs = (s: ReadableSpan) => hrTimeToMilliseconds(s.startTime);
const endMs = (s: ReadableSpan) => hrTimeToMilliseconds(s.endTime);

describe("CallSpan: a call's SERVER span, made when first needed", () => {
  it("is made after the call is answered when no one asked for it, with the times the call ran", async () => {
    const before = Date.now();
    const span = new CallSpan(tracer, "oma.v1.SessionService/GetEvents", { "rpc.method": "GetEvents" }, caller);
    await sleep(30);
    span.setAttributes({ "oma.session.seq": 7 });
    span.end();
    const after = Date.now();
    // Nothing of the SDK ran during the call, nor right at its answer: it runs after.
    expect(made).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    const [s] = exporter.getFinishedSpans();
    expect(made).toHaveLength(1);
    expect(s!.name).toBe("oma.v1.SessionService/GetEvents");
    expect(s!.kind).toBe(SpanKind.SERVER);
    expect(s!.parentSpanContext?.spanId).toBe(trace.getSpanContext(caller)!.spanId);
    expect(s!.spanContext().traceId).toBe(trace.getSpanContext(caller)!.traceId);
    expect(s!.attributes).toEqual({ "rpc.method": "GetEvents", "oma.session.seq": 7 });
    // It spans the call: from its start (the wall clock's millisecond) to its answer.
    expect(startMs(s!)).toBeGreaterThanOrEqual(before);
    expect(endMs(s!)).toBeLessThanOrEqual(after + 1);
    expect(endMs(s!) - startMs(s!)).toBeGreaterThanOrEqual(29);
  });

  it("is made at once when its context is asked for, keeps the call's start, and ends at the answer", async () => {
    const before = Date.now();
    const span = new CallSpan(tracer, "oma.v1.HarnessService/Wake", { "rpc.method": "Wake" }, caller);
    await sleep(20);
    const ctx = span.context();
    expect(made).toHaveLength(1);
    expect(span.context()).toBe(ctx);
    span.setAttributes({ "oma.session.seq": 3 });
    span.end();
    const [s] = exporter.getFinishedSpans();
    // The context handed on is the span's own.
    expect(trace.getSpanContext(ctx)?.spanId).toBe(s!.spanContext().spanId);
    expect(s!.attributes).toEqual({ "rpc.method": "Wake", "oma.session.seq": 3 });
    expect(startMs(s!)).toBeGreaterThanOrEqual(before);
    expect(startMs(s!)).toBeLessThan(before + 15);
    expect(endMs(s!) - startMs(s!)).toBeGreaterThanOrEqual(19);
    expect(made).toHaveLength(1);
  });

  it("records a failed call with its status code and an error status, made later or at once, and ends once", async () => {
    const later = new CallSpan(tracer, "oma.v1.SessionService/GetSession", {}, caller);
    later.fail(5, "session not found");
    later.end();
    later.end();
    const atOnce = new CallSpan(tracer, "oma.v1.SandboxService/Execute", {}, caller);
    atOnce.context();
    atOnce.fail(14, "sandbox lost");
    atOnce.end();
    atOnce.end();
    await new Promise((resolve) => setImmediate(resolve));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.attributes["rpc.grpc.status_code"], s.status.code, s.status.message])).toEqual([
      ["oma.v1.SandboxService/Execute", 14, SpanStatusCode.ERROR, "sandbox lost"],
      ["oma.v1.SessionService/GetSession", 5, SpanStatusCode.ERROR, "session not found"],
    ]);
  });

  it("asks the sampler once it is made: a call under an unsampled caller records nothing", async () => {
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { ...trace.getSpanContext(caller)!, traceFlags: TraceFlags.NONE });
    const span = new CallSpan(tracer, "oma.v1.SessionService/EmitEvent", {}, unsampled);
    expect(span.isRecording()).toBe(false);
    span.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
