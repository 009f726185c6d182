import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { OmaMetrics } from "./metrics.js";

/** A Connect code as gRPC names it: `NotFound` → `NOT_FOUND`. */
export function grpcCodeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function codeOf(err: unknown): string {
  return grpcCodeName(ConnectError.from(err).code);
}

/**
 * Counts every RPC by method and final status code, times unary calls and tracks open
 * server streams. Placed outermost, so it sees the code the client gets.
 */
export function rpcMetricsInterceptor(metrics: OmaMetrics): Interceptor {
  return (next) => async (req) => {
    const method = `${req.method.parent.typeName}/${req.method.name}`;
    const endTimer = req.stream ? undefined : metrics.rpcDuration.startTimer({ method });
    let res;
    try {
      res = await next(req);
    } catch (err) {
      endTimer?.();
      metrics.rpcRequests.inc({ method, code: codeOf(err) });
      throw err;
    }
    if (!res.stream) {
      endTimer?.();
      metrics.rpcRequests.inc({ method, code: "OK" });
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        metrics.rpcStreamsOpen.inc({ method });
        let code = "OK";
        try {
          yield* messages;
        } catch (err) {
          code = codeOf(err);
          throw err;
        } finally {
          metrics.rpcStreamsOpen.dec({ method });
          metrics.rpcRequests.inc({ method, code });
        }
      })(),
    };
  };
}
