import type { Interceptor } from "@connectrpc/connect";
import { context, propagation, type Context } from "@opentelemetry/api";

const headerSetter = { set: (headers: Headers, key: string, value: string) => headers.set(key, value) };

/**
 * Sends a trace context and its baggage with every call (`traceparent`, `tracestate`,
 * `baggage` headers, W3C), so the server's spans join the caller's trace: the context
 * `current` returns at the call (by default the active one, which needs a context
 * manager). Add it to a client's interceptors only when tracing is on.
 */
export function traceContextInterceptor(current: () => Context = () => context.active()): Interceptor {
  return (next) => (req) => {
    propagation.inject(current(), req.header, headerSetter);
    return next(req);
  };
}
