import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { procedureName } from "../rpc/procedure-name.js";
import type { OmaMetrics } from "./metrics.js";

/** A Connect code as gRPC names it: `NotFound` → `NOT_FOUND`. */
export function grpcCodeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function codeOf(err: unknown): string {
  return grpcCodeName(ConnectError.from(err).code);
}

/** The label sets of one method, made once: building them per call was a measurable part of a no-op call. */
interface MethodLabels {
  readonly method: { method: string };
  readonly ok: { method: string; code: string };
}

/**
 * Counts every RPC by method and final status code, times unary calls and tracks open
 * server streams. Placed outermost, so it sees the code the client gets.
 */
export function rpcMetricsInterceptor(metrics: OmaMetrics): Interceptor {
  const labelsOf = new WeakMap<object, MethodLabels>();
  const labels = (m: DescMethod): MethodLabels => {
    let l = labelsOf.get(m);
    if (!l) {
      const method = procedureName(m);
      labelsOf.set(m, (l = { method: { method }, ok: { method, code: "OK" } }));
    }
    return l;
  };
  return (next) => async (req) => {
    const l = labels(req.method);
    const start = req.stream ? 0 : performance.now();
    let res;
    try {
      res = await next(req);
    } catch (err) {
      if (!req.stream) metrics.rpcDuration.observe(l.method, (performance.now() - start) / 1000);
      metrics.rpcRequests.inc({ ...l.method, code: codeOf(err) });
      throw err;
    }
    if (!res.stream) {
      metrics.rpcDuration.observe(l.method, (performance.now() - start) / 1000);
      metrics.rpcRequests.inc(l.ok);
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        metrics.rpcStreamsOpen.inc(l.method);
        let code = "OK";
        try {
          yield* messages;
        } catch (err) {
          code = codeOf(err);
          throw err;
        } finally {
          metrics.rpcStreamsOpen.dec(l.method);
          metrics.rpcRequests.inc({ ...l.method, code });
        }
      })(),
    };
  };
}
