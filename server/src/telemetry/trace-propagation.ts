import type { Interceptor } from "@connectrpc/connect";
import { context, propagation, type Context } from "@opentelemetry/api";

/**
 * The W3C headers of each context, worked out once: a context never changes, and a brain
 * sends the same one with most of its calls (its `invoke_agent` span's, or its tool's).
 */
const carriers = new WeakMap<Context, Readonly<Record<string, string>>>();

function headersOf(ctx: Context): Readonly<Record<string, string>> {
  let carrier = carriers.get(ctx);
  if (!carrier) {
    const headers: Record<string, string> = {};
    propagation.inject(ctx, headers);
    carrier = headers;
    carriers.set(ctx, carrier);
  }
  return carrier;
}

/**
 * Sends a trace context and its baggage with every call (`traceparent`, `tracestate`,
 * `baggage` headers, W3C), so the server's spans join the caller's trace: the context
 * `current` returns at the call (by default the active one, which needs a context
 * manager). Add it to a client's interceptors only when tracing is on.
 */
export function traceContextInterceptor(current: () => Context = () => context.active()): Interceptor {
  return (next) => (req) => {
    const carrier = headersOf(current());
    for (const key in carrier) req.header.set(key, carrier[key]!);
    return next(req);
  };
}
