import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** True when the call's signal was aborted because its deadline passed. */
function deadlinePassed(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof ConnectError && signal.reason.code === Code.DeadlineExceeded;
}

/**
 * WIRE-7: a call whose deadline passes ends with DEADLINE_EXCEEDED. Handlers see only their
 * aborted signal, and one that stops at that (a watch, a worker stream, a streamed execute)
 * returns normally; without this the framework would end such a call with OK whenever the
 * server's deadline fired before the client's own.
 */
export function deadlineInterceptor(): Interceptor {
  return (next) => async (req) => {
    const res = await next(req);
    if (!res.stream) {
      if (deadlinePassed(req.signal)) throw req.signal.reason;
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        yield* messages;
        if (deadlinePassed(req.signal)) throw req.signal.reason;
      })(),
    };
  };
}
