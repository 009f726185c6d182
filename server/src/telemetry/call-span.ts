import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { SpanClock } from "./span-clock.js";

/**
 * A call's SERVER span, made with the official SDK when it is first needed: when its handler
 * asks for the span's context (to make spans of its own under it, or to hand the trace on, as
 * Wake does), or else once the call has been answered. Most handlers never ask, so the
 * SDK's work for their spans (sampling, ids, attributes, the span processor) happens after
 * the response has gone, not between the request and the answer. Either way the span starts
 * when the call came in and ends when it was answered (span-clock.ts).
 */
export class CallSpan {
  readonly #tracer: Tracer;
  readonly #name: string;
  readonly #parent: Context;
  readonly #attributes: Attributes;
  readonly #clock = new SpanClock();
  #span: Span | undefined;
  #context: Context | undefined;
  #error: { readonly code: number; readonly message: string } | undefined;
  #ended = false;

  constructor(tracer: Tracer, name: string, attributes: Attributes, parent: Context) {
    this.#tracer = tracer;
    this.#name = name;
    this.#attributes = attributes;
    this.#parent = parent;
  }

  /** The span's context: the span is made now if it was not yet. */
  context(): Context {
    this.#context ??= trace.setSpan(this.#parent, (this.#span = this.#start()));
    return this.#context;
  }

  /** Whether the span is recorded; it is made now to ask the sampler. */
  isRecording(): boolean {
    this.context();
    return this.#span!.isRecording();
  }

  setAttributes(attributes: Attributes): void {
    if (this.#span) this.#span.setAttributes(attributes);
    else Object.assign(this.#attributes, attributes);
  }

  /** Marks the call failed, with its gRPC status code. */
  fail(code: number, message: string): void {
    this.setAttributes({ "rpc.grpc.status_code": code });
    this.#error = { code, message };
    this.#span?.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  /** The call was answered: a span already made ends now; one not yet made is made and ended once this turn of the event loop is over. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const endedAt = this.#clock.now();
    if (this.#span) {
      this.#span.end(endedAt);
      return;
    }
    setImmediate(() => {
      const span = this.#start();
      if (this.#error) span.setStatus({ code: SpanStatusCode.ERROR, message: this.#error.message });
      span.end(endedAt);
    });
  }

  #start(): Span {
    return this.#tracer.startSpan(this.#name, { kind: SpanKind.SERVER, attributes: this.#attributes, startTime: this.#clock.startedAt }, this.#parent);
  }
}
