import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import { VERSION } from "../version.js";

/** Span attributes OMA adds to every span of a session's work. */
export const ATTR_SESSION_ID = "oma.session.id";
/** The log position the span is about: the event it wrote or read up to, the head it saw. */
export const ATTR_SESSION_SEQ = "oma.session.seq";
/** Baggage keys carrying the session and seq from a brain to the server's spans. */
const BAGGAGE_SESSION_ID = ATTR_SESSION_ID;
const BAGGAGE_SESSION_SEQ = ATTR_SESSION_SEQ;

/** OMA's tracer: the OpenTelemetry API's, a no-op unless an SDK was started (startTracing). */
export function omaTracer(): Tracer {
  return trace.getTracer("oma", VERSION);
}

/** What makes OMA's spans while tracing is on: `LateSpans` (late-span.ts). */
export interface SpanStarter {
  start(name: string, options: SpanOptions, parent: Context): Span;
}
let starter: SpanStarter | undefined;

/** Makes OMA's spans with `spans` (undefined: with the API's tracer); startTracing sets it. */
export function useSpanStarter(spans: SpanStarter | undefined): void {
  starter = spans;
}

/**
 * Starts one of OMA's spans under `parent`: every span OMA makes starts here. While tracing
 * is on the SDK makes it once it has ended (late-span.ts); otherwise it is the API's no-op.
 */
export function startSpan(name: string, options: SpanOptions, parent: Context): Span {
  return starter ? starter.start(name, options, parent) : omaTracer().startSpan(name, options, parent);
}

/** A running tracing SDK. */
export interface Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Whether the standard environment asks for traces: an OTLP endpoint, and the SDK not disabled. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  return Boolean(endpoint) && env["OTEL_SDK_DISABLED"] !== "true" && env["OTEL_TRACES_EXPORTER"] !== "none";
}

/**
 * Starts the OpenTelemetry SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`)
 * is set: spans go in batches to that OTLP/HTTP endpoint as protobuf, sent from a thread of
 * their own (off-thread-exporter.ts), OMA's sampler decides which traces are recorded
 * (sampler.ts; `OTEL_TRACES_SAMPLER` picks another), and W3C trace context and baggage are
 * the propagators. Otherwise nothing is loaded or started, and
 * every span OMA makes is the API's no-op. The standard OTEL_* variables (service name,
 * resource attributes, headers, batch delays) apply.
 * `asyncContext: false` registers no context manager: the active context is then never
 * carried across an await, and the process passes contexts explicitly (the server does:
 * every handler gets its call's context, `Call.trace`). It spares the process the
 * AsyncLocalStorage that would otherwise track every promise it makes (on Node 20, through
 * async hooks: a few per cent of a busy server's CPU).
 */
export async function startTracing(options: { serviceName: string; logger: Logger; env?: NodeJS.ProcessEnv; asyncContext?: boolean }): Promise<Tracing | undefined> {
  const env = options.env ?? process.env;
  if (!tracingRequested(env)) return undefined;
  const protocol = env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] || env["OTEL_EXPORTER_OTLP_PROTOCOL"] || "http/protobuf";
  if (protocol !== "http/protobuf") options.logger.warn({ protocol }, "OTLP traces are exported as http/protobuf; the protocol asked for is not supported and is ignored");
  // Loaded only when asked for: without an endpoint no SDK code runs at all.
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OffThreadSpanExporter }, { samplerFor }, { LateSpans }, { resourceFromAttributes, detectResources, envDetector }, core] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("./off-thread-exporter.js"),
    import("./sampler.js"),
    import("./late-span.js"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
  ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults.
  const resource = resourceFromAttributes({ "service.name": options.serviceName, "service.version": VERSION }).merge(detectResources({ detectors: [envDetector] }));
  const sampler = samplerFor(env, (message) => options.logger.warn(message));
  const spans = new LateSpans(sampler, omaTracer);
  const provider = new NodeTracerProvider({ resource, sampler, idGenerator: spans.idGenerator, spanProcessors: [new BatchSpanProcessor(new OffThreadSpanExporter())] });
  provider.register({
    // null: no context manager at all; undefined: the default, AsyncLocalStorage.
    contextManager: options.asyncContext === false ? null : undefined,
    propagator: new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }),
  });
  useSpanStarter(spans);
  options.logger.info({ endpoint: env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_ENDPOINT"], service: options.serviceName, sampler: sampler.toString() }, "exporting traces over OTLP");
  return {
    async shutdown() {
      spans.flush();
      useSpanStarter(undefined);
      await provider.shutdown().catch((err: unknown) => options.logger.warn({ err }, "flushing traces failed"));
    },
  };
}

/** A context (by default the active one) as W3C headers (traceparent, tracestate, baggage); empty when nothing traces. */
export function carrierOf(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A context from W3C headers (e.g. a WorkAssignment's trace_context). */
export function contextFromCarrier(carrier: Readonly<Record<string, string>>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The session (and seq) the active context works on, as span attributes, from its baggage. */
export function sessionAttributes(ctx: Context = context.active()): Attributes {
  const bag = propagation.getBaggage(ctx);
  const sessionId = bag?.getEntry(BAGGAGE_SESSION_ID)?.value;
  const seq = bag?.getEntry(BAGGAGE_SESSION_SEQ)?.value;
  return { ...(sessionId ? { [ATTR_SESSION_ID]: sessionId } : {}), ...(seq !== undefined && seq !== "" ? { [ATTR_SESSION_SEQ]: Number(seq) } : {}) };
}

/** `ctx` with the session and seq in its baggage, so spans in other processes carry them too. */
export function withSession(ctx: Context, sessionId: string, seq: number | bigint | undefined): Context {
  const bag = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  let next = bag.setEntry(BAGGAGE_SESSION_ID, { value: sessionId });
  if (seq !== undefined) next = next.setEntry(BAGGAGE_SESSION_SEQ, { value: String(seq) });
  return propagation.setBaggage(ctx, next);
}

/** Adds attributes to the span of a context, by default the active one (a no-op when nothing traces). */
export function annotateSpan(attributes: Attributes, ctx: Context = context.active()): void {
  trace.getSpan(ctx)?.setAttributes(attributes);
}

/**
 * Runs `fn` inside a new span (startSpan) under `parent` that ends when `fn` settles; a thrown
 * error marks it failed. `fn` may add attributes to the span it is given, and gets the span's
 * context to pass on where no context manager carries it.
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span, ctx: Context) => Promise<T>, parent: Context = context.active()): Promise<T> {
  const span = startSpan(name, options, parent);
  const ctx = trace.setSpan(parent, span);
  try {
    return await context.with(ctx, fn, undefined, span, ctx);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
