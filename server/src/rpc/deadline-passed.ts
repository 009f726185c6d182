import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * How much earlier than the wall clock's deadline a deadline's timer may fire: the clocks
 * differ by rounding (a millisecond), not by seconds. A call ending further from its
 * deadline than this has not passed it.
 */
export const EARLY_FIRE_MARGIN_MS = 1000;

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
  // The time left is asked first: reading the signal may make it (grpc-call-context.ts: a
  // controller, a timer and a listener), which a call without a deadline, or one that ends
  // long before it, never needs.
  const left = ctx.timeoutMs();
  if (left === undefined || left > EARLY_FIRE_MARGIN_MS) return undefined;
  const signal = ctx.signal;
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof ConnectError && reason.code === Code.DeadlineExceeded ? reason : undefined;
}
