import type { Interceptor } from "@connectrpc/connect";
import { procedureName } from "./procedure-name.js";
import { toConnectError, type InternalErrorLogger } from "./to-connect-error.js";

/**
 * Translates errors at the edge, for unary calls and for errors raised while a response
 * stream is being produced, so that handlers and domain code never build a ConnectError.
 */
export function errorInterceptor(logInternal: InternalErrorLogger): Interceptor {
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw toConnectError(err, procedureName(req.method), logInternal);
    }
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (err) {
          throw toConnectError(err, procedureName(req.method), logInternal);
        }
      })(),
    };
  };
}
