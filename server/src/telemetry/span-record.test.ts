import { context, createTraceState, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { MessageChannel } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { fromSpanRecord, toSpanRecord, type SpanRecord } from "./span-record.js";

/** What the OTLP serializer reads of a span, as plain data. */
function seen(span: ReadableSpan) {
  const ctx = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    context: { ...ctx, traceState: ctx.traceState?.serialize() },
    parent: span.parentSpanContext && { spanId: span.parentSpanContext.spanId, isRemote: span.parentSpanContext.isRemote },
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links.map((l) => ({ ...l, context: { ...l.context, traceState: l.context.traceState?.serialize() } })),
    scope: span.instrumentationScope,
    dropped: [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
  };
}

/** A record as it reaches the export thread: through a structured clone. */
async function posted(records: SpanRecord[]): Promise<SpanRecord[]> {
  const { port1, port2 } = new MessageChannel();
  const arrived = new Promise<SpanRecord[]>((resolve) => port2.once("message", resolve));
  port1.postMessage(records);
  try {
    return await arrived;
  } finally {
    port1.close();
  }
}

describe("span records (the spans the export thread gets)", () => {
  it("carry every field the OTLP serializer reads, through a structured clone, and spans of one scope share one scope object", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer("oma", "1.2.3");
    const remote = trace.setSpanContext(context.active(), {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState("vendor=a,other=b"),
    });
    const server = tracer.startSpan("oma.v1.SessionService/EmitEvent", { kind: SpanKind.SERVER, attributes: { "rpc.method": "EmitEvent", "oma.session.seq": 7 } }, remote);
    server.setStatus({ code: SpanStatusCode.ERROR, message: "lease lost" });
    server.end();
    const inner = tracer.startSpan("chat claude", {
      attributes: { "gen_ai.usage.input_tokens": 12, "gen_ai.request.stop_sequences": ["a", "b"], flag: true },
      links: [{ context: { traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: TraceFlags.NONE, traceState: createTraceState("k=v") }, attributes: { why: "retry" } }],
    });
    inner.addEvent("retry", { attempt: 2 });
    inner.end();
    const [a, b] = exporter.getFinishedSpans();

    const resource = resourceFromAttributes({ "service.name": "oma-server" });
    const scopes = new Map<string, InstrumentationScope>();
    const back = (await posted([toSpanRecord(a!), toSpanRecord(b!)])).map((r) => fromSpanRecord(r, resource, scopes));

    expect(back.map(seen)).toEqual([a!, b!].map(seen));
    expect(back[0]!.resource).toBe(resource);
    expect(back[0]!.instrumentationScope).toBe(back[1]!.instrumentationScope);
    expect(back[0]!.instrumentationScope).toEqual({ name: "oma", version: "1.2.3" });
    expect(back[0]!.parentSpanContext?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    await provider.shutdown();
  });
});
