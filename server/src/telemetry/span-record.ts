import { createTraceState, type Attributes, type Link, type SpanContext, type SpanKind, type SpanStatusCode } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

/**
 * A finished span as one flat array, to pass to the export thread: a structured clone of
 * an array of primitives costs a fraction of one of the SDK's span objects (scratch: ~2.5
 * against ~6 µs a span), and serializing spans for OTLP is what the export thread is for.
 * Links and events are rare on OMA's spans; they travel as they are.
 */
export type SpanRecord = [
  name: string,
  kind: SpanKind,
  traceId: string,
  spanId: string,
  traceFlags: number,
  traceState: string | undefined,
  parentSpanId: string | undefined,
  parentIsRemote: boolean | undefined,
  startSeconds: number,
  startNanos: number,
  endSeconds: number,
  endNanos: number,
  attributes: Attributes,
  statusCode: SpanStatusCode,
  statusMessage: string | undefined,
  /** `name \0 version \0 schemaUrl` of the instrumentation scope. */
  scope: string,
  droppedAttributesCount: number,
  events: PlainEvent[] | undefined,
  droppedEventsCount: number,
  links: PlainLink[] | undefined,
  droppedLinksCount: number,
];

type PlainEvent = TimedEvent;
type PlainLink = { context: PlainSpanContext; attributes?: Attributes; droppedAttributesCount?: number };
type PlainSpanContext = Omit<SpanContext, "traceState"> & { traceState?: string };

export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext;
  const scope = span.instrumentationScope;
  return [
    span.name,
    span.kind,
    ctx.traceId,
    ctx.spanId,
    ctx.traceFlags,
    ctx.traceState?.serialize(),
    parent?.spanId,
    parent?.isRemote,
    span.startTime[0],
    span.startTime[1],
    span.endTime[0],
    span.endTime[1],
    span.attributes,
    span.status.code,
    span.status.message,
    `${scope.name}\0${scope.version ?? ""}\0${scope.schemaUrl ?? ""}`,
    span.droppedAttributesCount,
    span.events.length > 0 ? span.events : undefined,
    span.droppedEventsCount,
    span.links.length > 0 ? span.links.map(plainLink) : undefined,
    span.droppedLinksCount,
  ];
}

function plainLink(link: Link): PlainLink {
  const { traceState, ...context } = link.context;
  return { ...link, context: { ...context, ...(traceState ? { traceState: traceState.serialize() } : {}) } };
}

/**
 * The span again, as the OTLP serializer reads it, with the given resource. Spans of one
 * scope share one scope object (`scopes`): the serializer groups spans by identity.
 */
export function fromSpanRecord(r: SpanRecord, resource: Resource, scopes: Map<string, InstrumentationScope>): ReadableSpan {
  const [name, kind, traceId, spanId, traceFlags, traceState, parentSpanId, parentIsRemote, startSeconds, startNanos, endSeconds, endNanos] = r;
  const context: SpanContext = { traceId, spanId, traceFlags, ...(traceState ? { traceState: createTraceState(traceState) } : {}) };
  return {
    name,
    kind,
    spanContext: () => context,
    ...(parentSpanId ? { parentSpanContext: { traceId, spanId: parentSpanId, traceFlags, ...(parentIsRemote !== undefined ? { isRemote: parentIsRemote } : {}) } } : {}),
    startTime: [startSeconds, startNanos],
    endTime: [endSeconds, endNanos],
    duration: durationOf(startSeconds, startNanos, endSeconds, endNanos),
    ended: true,
    attributes: r[12],
    status: { code: r[13], ...(r[14] !== undefined ? { message: r[14] } : {}) },
    resource,
    instrumentationScope: scopeOf(r[15], scopes),
    droppedAttributesCount: r[16],
    events: r[17] ?? [],
    droppedEventsCount: r[18],
    links: (r[19] ?? []).map(linkOf),
    droppedLinksCount: r[20],
  };
}

function durationOf(s0: number, n0: number, s1: number, n1: number): [number, number] {
  const nanos = n1 - n0;
  return nanos < 0 ? [s1 - s0 - 1, nanos + 1e9] : [s1 - s0, nanos];
}

function scopeOf(key: string, scopes: Map<string, InstrumentationScope>): InstrumentationScope {
  let scope = scopes.get(key);
  if (!scope) {
    const [name = "", version, schemaUrl] = key.split("\0");
    scope = { name, ...(version ? { version } : {}), ...(schemaUrl ? { schemaUrl } : {}) };
    scopes.set(key, scope);
  }
  return scope;
}

function linkOf(link: PlainLink): Link {
  const { traceState, ...context } = link.context;
  return { ...link, context: { ...context, ...(traceState ? { traceState: createTraceState(traceState) } : {}) } };
}
