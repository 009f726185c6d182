import type { Interceptor } from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";

const headerSetter = { set: (headers: Headers, key: string, value: string) => headers.set(key, value) };

/**
 * Sends the active trace context and baggage with every call (`traceparent`, `tracestate`,
 * `baggage` headers, W3C), so the server's spans join the caller's trace. Add it to a
 * client's interceptors only when tracing is on.
 */
export function traceContextInterceptor(): Interceptor {
  return (next) => (req) => {
    propagation.inject(context.active(), req.header, headerSetter);
    return next(req);
  };
}
