import { ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { procedureName } from "../rpc/procedure-name.js";
import { CarriedContexts } from "./carried-contexts.js";
import { ATTR_SESSION_ID, ATTR_SESSION_SEQ, startSpan } from "./tracing.js";

/** rpc.system as the request's content type tells it. */
function rpcSystem(headers: Headers): string {
  const type = headers.get("content-type") ?? "";
  return type.startsWith("application/grpc-web") ? "grpc_web" : type.startsWith("application/grpc") ? "grpc" : "connect_rpc";
}

/** The seq a response is about: the last event appended or sent, else the head it reports. */
function seqOf(message: unknown): bigint | undefined {
  const m = message as { event?: { seq?: bigint }; events?: { seq?: bigint }[]; headSeq?: bigint; session?: { headSeq?: bigint }; message?: { case?: string; value?: { seq?: bigint; headSeq?: bigint } } };
  return m.events?.at(-1)?.seq ?? m.event?.seq ?? m.headSeq ?? m.session?.headSeq ?? m.message?.value?.seq ?? m.message?.value?.headSeq;
}

/** Session and sandbox named by a request, added to a span's attributes. */
function addRequestAttributes(attributes: Attributes, request: unknown): Attributes {
  const r = request as { sessionId?: unknown; sandboxId?: unknown };
  if (typeof r.sessionId === "string" && r.sessionId) attributes[ATTR_SESSION_ID] = r.sessionId;
  if (typeof r.sandboxId === "string" && r.sandboxId) attributes["oma.sandbox.id"] = r.sandboxId;
  return attributes;
}

/** Marks the call failed, with its gRPC status code. */
function fail(span: Span, err: unknown): void {
  const e = ConnectError.from(err);
  span.setAttributes({ "rpc.grpc.status_code": e.code });
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.rawMessage });
}

/**
 * The context of a call's SERVER span, for its handler (`Call.trace`), worked out when first
 * asked for; the root context when nothing traces.
 */
export const traceContextKey = createContextKey<() => Context>(() => ROOT_CONTEXT, { description: "the call's trace context" });

/**
 * A SERVER span for every RPC, child of the caller's W3C trace context (`traceparent`), with
 * the session and seq from the request, the response, or the caller's baggage; handlers get
 * its context (`Call.trace`), so the spans of domain code nest under it. Like every OMA span
 * it is made by the SDK once it has ended (late-span.ts): nothing of the SDK runs between a
 * request and its answer but what a handler that reads `Call.trace` asks for (the span's
 * ids and sampling decision). Installed only when tracing is on.
 */
export function traceInterceptor(): Interceptor {
  const contexts = new CarriedContexts();
  return (next) => (req) => {
    // A call that carries no W3C context (most clients') starts a trace: nothing to extract.
    const carried = contexts.of(req.header);
    const attributes: Attributes = { "rpc.system": rpcSystem(req.header), "rpc.service": req.method.parent.typeName, "rpc.method": req.method.name };
    if (carried) Object.assign(attributes, carried.attributes);
    // A unary request is known before the span starts: its attributes are set in one go.
    if (!req.stream) addRequestAttributes(attributes, req.message);
    const parent = carried?.parent ?? ROOT_CONTEXT;
    const span = startSpan(procedureName(req.method), { kind: SpanKind.SERVER, attributes }, parent);
    let ctx: Context | undefined;
    const spanContext = () => (ctx ??= trace.setSpan(parent, span));
    req.contextValues.set(traceContextKey, spanContext);
    if (!req.stream) {
      return next(req).then(
        (res) => {
          if (res.stream) return { ...res, message: traced(res.message, spanContext(), span) };
          answered(span, res.message);
          return res;
        },
        (err: unknown) => {
          fail(span, err);
          span.end();
          throw err;
        },
      );
    }
    // A stream's messages are read inside its span's context. A stream the sampler left out
    // (sampler.ts) passes its context on and nothing more: it is not wrapped.
    if (!span.isRecording()) return context.with(spanContext(), () => next(req));
    const request = { ...req, message: tap(req.message, (m) => span.setAttributes(addRequestAttributes({}, m))) };
    return context.with(spanContext(), () => next(request)).then(
      (res) => (res.stream ? { ...res, message: traced(res.message, spanContext(), span) } : (answered(span, res.message), res)),
      (err: unknown) => {
        fail(span, err);
        span.end();
        throw err;
      },
    );
  };
}

const OK: Attributes = { "rpc.grpc.status_code": 0 };

/** A call answered with one message: OK, and the seq the answer is about. */
function answered(span: Span, message: unknown): void {
  const seq = seqOf(message);
  span.setAttributes(seq === undefined ? OK : { ...OK, [ATTR_SESSION_SEQ]: Number(seq) });
  span.end();
}

async function* tap<T>(messages: AsyncIterable<T>, first: (m: T) => void): AsyncIterable<T> {
  let seen = false;
  for await (const m of messages) {
    if (!seen) first(m);
    seen = true;
    yield m;
  }
}

/** Iterates a response stream inside the call's context; the span ends with the stream. */
async function* traced<T>(messages: AsyncIterable<T>, ctx: Context, span: Span): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  let last: bigint | undefined;
  try {
    for (;;) {
      const next = await context.with(ctx, () => it.next());
      if (next.done) break;
      last = seqOf(next.value) ?? last;
      yield next.value;
    }
    span.setAttributes(OK);
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    if (last !== undefined) span.setAttributes({ [ATTR_SESSION_SEQ]: Number(last) });
    await it.return?.();
    span.end();
  }
}
