import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * WIRE-7: a call whose deadline passes ends with DEADLINE_EXCEEDED. A handler sees only its
 * aborted signal, and one that stops at that (a watch, a worker stream) returns normally;
 * without this, such a call would end with OK whenever the server's deadline fired before
 * the client's own.
 *
 * The signal's reason decides, not the time left: the deadline's timer runs on the event
 * loop's monotonic clock and `timeoutMs()` on the wall clock, so the timer may fire while
 * `timeoutMs()` still says 1 ms is left (about 1 in 12 deadlines on an idle host).
 */
export function deadlinePassed(ctx: HandlerContext): ConnectError | undefined {
  // A call without a deadline is answered first: reading the signal may make it
  // (grpc-call-context.ts), and most calls carry no deadline.
  if (ctx.timeoutMs() === undefined) return undefined;
  const signal = ctx.signal;
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof ConnectError && reason.code === Code.DeadlineExceeded ? reason : undefined;
}
