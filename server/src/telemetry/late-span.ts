import {
  diag, INVALID_SPAN_CONTEXT, SpanKind, TraceFlags, trace,
  type Attributes, type AttributeValue, type Context, type Exception, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer,
} from "@opentelemetry/api";
import { isTracingSuppressed } from "@opentelemetry/core";
import { RandomIdGenerator, SamplingDecision, type IdGenerator, type Sampler } from "@opentelemetry/sdk-trace-base";
import { SpanClock } from "./span-clock.js";

/**
 * How long an ended span waits to be made, with the others that end meanwhile. A wake's way
 * from the Wake to the model's first request takes ~10 ms (`npm run bench telemetry`), and
 * a turn's RPCs come in bursts: made on the next turn of the event loop, the spans of a
 * wake's first RPCs were made during that wake, and cost it 2–4 % of its speed (paired
 * runs of a traced server against itself with this delay: telemetry README).
 */
export const LATE_SPAN_DELAY_MS = 25;
/** Ended spans waiting past this many are made on the next turn of the event loop, not later. */
export const LATE_SPANS_WAITING_MAX = 1024;

/**
 * Spans made with the official SDK once their work is over. OMA's spans sit on the way of
 * every traced call and every brain, and in a process that runs each path once per call the
 * SDK's code runs cold: making a span (ids, sampling, attribute checks, the processors) cost
 * ~50–80 µs there (timed in place in a scratch build). A LateSpan records what happens to
 * it (its attributes, events, status, its times on the SDK's clock) and the SDK makes the
 * real span from that after it has ended, in a batch LATE_SPAN_DELAY_MS later, off the way
 * of the work.
 *
 * Its id and sampling decision are taken only when first needed: when its context is read
 * (a child under it, a trace header for another process), else when it is made. They are
 * taken as the SDK takes them: the SDK's random ids, and the very sampler the tracer
 * provider samples with. The ids are handed to the SDK when it makes the span, through the
 * provider's IdGenerator (`LateSpans.idGenerator`), so the span is the one its children and
 * the other processes already name; the sampler, asked again with the same arguments, gives
 * the same answer (OMA's and every standard sampler decide by parent and trace id).
 *
 * The cost: a span's processors see it only once it has ended, and a span that ended less
 * than LATE_SPAN_DELAY_MS before the process died is lost (`flush` makes them all at once,
 * before the SDK shuts down; its batch processor holds spans for up to 5 s anyway).
 */
export class LateSpans {
  readonly #sampler: Sampler;
  readonly #tracer: () => Tracer;
  readonly #random = new RandomIdGenerator();
  readonly #delayMs: number;
  readonly #ended: LateSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #reserved: SpanContext | undefined;

  /** `tracer`: the provider's tracer the spans are made with; `sampler`: the provider's sampler. */
  constructor(sampler: Sampler, tracer: () => Tracer, delayMs = LATE_SPAN_DELAY_MS) {
    this.#sampler = sampler;
    this.#tracer = tracer;
    this.#delayMs = delayMs;
  }

  /** The provider's IdGenerator: random ids, except the ones of the late span being made. */
  readonly idGenerator: IdGenerator = {
    generateTraceId: () => this.#reserved?.traceId ?? this.#random.generateTraceId(),
    generateSpanId: () => this.#reserved?.spanId ?? this.#random.generateSpanId(),
  };

  /** A span (`SpanOptions` as the SDK takes them), made by the SDK once it has ended. */
  start(name: string, options: SpanOptions, parent: Context): Span {
    return new LateSpan(this, name, options, options.root ? trace.deleteSpan(parent) : parent);
  }

  /** Makes every span that has ended and is not made yet. */
  flush(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = this.#immediate = undefined;
    const ended = this.#ended.splice(0);
    for (const span of ended) {
      // A span processor that throws loses that span, not the others nor the process.
      try {
        span.make();
      } catch (err) {
        diag.error("a span could not be made", err);
      }
    }
  }

  /** @internal The id and sampling decision of a span under `parent`, as the SDK would take them. */
  decide(parent: Context, name: string, kind: SpanKind, attributes: Attributes, links: readonly Link[]): Decided {
    const up = trace.getSpanContext(parent);
    const child = up !== undefined && trace.isSpanContextValid(up);
    const spanId = this.#random.generateSpanId();
    const traceId = child ? up.traceId : this.#random.generateTraceId();
    const result = this.#sampler.shouldSample(parent, traceId, name, kind, attributes, links as Link[]);
    const traceState = result.traceState ?? (child ? up.traceState : undefined);
    const traceFlags = result.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
    return { spanContext: { traceId, spanId, traceFlags, ...(traceState ? { traceState } : {}) }, recording: result.decision !== SamplingDecision.NOT_RECORD };
  }

  /** @internal Queues an ended span to be made with the others LATE_SPAN_DELAY_MS later. */
  ended(span: LateSpan): void {
    this.#ended.push(span);
    if (this.#ended.length >= LATE_SPANS_WAITING_MAX) this.#immediate ??= setImmediate(() => this.flush());
    else this.#timer ??= setTimeout(() => this.flush(), this.#delayMs).unref();
  }

  /** @internal Makes a span with the SDK under the ids it was given. */
  make(name: string, options: SpanOptions, parent: Context, ids: SpanContext): Span {
    this.#reserved = ids;
    try {
      return this.#tracer().startSpan(name, options, parent);
    } finally {
      this.#reserved = undefined;
    }
  }
}

/** A span's ids and whether it is recorded, as its sampler decided. */
interface Decided {
  readonly spanContext: SpanContext;
  readonly recording: boolean;
}

/** A suppressed span's: nothing, as the SDK gives it. */
const SUPPRESSED: Decided = { spanContext: INVALID_SPAN_CONTEXT, recording: false };

type Recorded =
  | { readonly kind: "event"; readonly name: string; readonly attributes?: Attributes; readonly time: TimeInput }
  | { readonly kind: "exception"; readonly exception: Exception; readonly time: TimeInput };

/** A span that records what is done to it; its SDK span is made once it has ended (`LateSpans`). */
class LateSpan implements Span {
  readonly #spans: LateSpans;
  readonly #parent: Context;
  readonly #kind: SpanKind;
  /** The attributes it started with (the sampler's), then those set later. */
  readonly #initial: Attributes;
  readonly #attributes: Attributes = {};
  readonly #links: Link[];
  readonly #clock: SpanClock;
  readonly #startTime: TimeInput | undefined;
  readonly #recorded: Recorded[] = [];
  #name: string;
  #status: SpanStatus | undefined;
  #decided: Decided | undefined;
  #endTime: TimeInput | undefined;
  #ended = false;

  constructor(spans: LateSpans, name: string, options: SpanOptions, parent: Context) {
    this.#spans = spans;
    this.#name = name;
    this.#parent = parent;
    this.#kind = options.kind ?? SpanKind.INTERNAL;
    this.#initial = options.attributes ?? {};
    this.#links = [...(options.links ?? [])];
    this.#startTime = options.startTime;
    this.#clock = new SpanClock();
  }

  spanContext(): SpanContext {
    return this.#decide().spanContext;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (!this.#ended) this.#attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (!this.#ended) Object.assign(this.#attributes, attributes);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.#ended) return this;
    const timed = typeof attributesOrTime === "number" || attributesOrTime instanceof Date || Array.isArray(attributesOrTime);
    this.#recorded.push({ kind: "event", name, ...(timed || !attributesOrTime ? {} : { attributes: attributesOrTime as Attributes }), time: time ?? (timed ? (attributesOrTime as TimeInput) : this.#clock.now()) });
    return this;
  }

  addLink(link: Link): this {
    if (!this.#ended) this.#links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    if (!this.#ended) this.#links.push(...links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (!this.#ended) this.#status = status;
    return this;
  }

  updateName(name: string): this {
    if (!this.#ended) this.#name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    if (!this.#ended) this.#recorded.push({ kind: "exception", exception, time: time ?? this.#clock.now() });
  }

  isRecording(): boolean {
    return !this.#ended && this.#decide().recording;
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endTime = endTime ?? this.#clock.now();
    this.#spans.ended(this);
  }

  /** Makes the SDK's span from what was recorded (`LateSpans.flush`). */
  make(): void {
    const decided = this.#decide();
    if (!decided.recording) return;
    const span = this.#spans.make(this.#name, { kind: this.#kind, attributes: this.#initial, links: this.#links, startTime: this.#startTime ?? this.#clock.startedAt }, this.#parent, decided.spanContext);
    span.setAttributes(this.#attributes);
    for (const r of this.#recorded) {
      if (r.kind === "event") span.addEvent(r.name, r.attributes, r.time);
      else span.recordException(r.exception, r.time);
    }
    if (this.#status) span.setStatus(this.#status);
    span.end(this.#endTime);
  }

  #decide(): Decided {
    this.#decided ??= isTracingSuppressed(this.#parent) ? SUPPRESSED : this.#spans.decide(this.#parent, this.#name, this.#kind, this.#initial, this.#links);
    return this.#decided;
  }
}
