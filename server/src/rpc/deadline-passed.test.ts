// WIRE-7: the server ends a call whose deadline fired with DEADLINE_EXCEEDED, whatever the
// wall clock says at that moment (rpc/deadline-passed.ts).
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { deadlinePassed, EARLY_FIRE_MARGIN_MS } from "./deadline-passed.js";

const contextWith = (timeoutMs?: number) =>
  createHandlerContext({
    service: SessionService,
    method: SessionService.method.watchEvents,
    protocolName: "connect",
    requestMethod: "POST",
    url: "/",
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

describe("deadlinePassed", () => {
  it("is the deadline's error for every call whose deadline timer fired, even when the wall clock still shows time left", async () => {
    // The timer runs on the loop's monotonic clock, timeoutMs() on Date.now(): some timers
    // fire while timeoutMs() still says 1 ms. 300 deadlines make that near certain to occur.
    const contexts = Array.from({ length: 300 }, (_, i) => contextWith(20 + (i % 7)));
    const seen = await Promise.all(
      contexts.map(
        (ctx) =>
          new Promise<{ left: number; passed: ConnectError | undefined }>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve({ left: ctx.timeoutMs()!, passed: deadlinePassed(ctx) }), { once: true }),
          ),
      ),
    );
    for (const { left, passed } of seen) expect(passed?.code, `timeoutMs() said ${left} ms were left`).toBe(Code.DeadlineExceeded);
  });

  it("is nothing for a call without a deadline, one cancelled by its client, or one whose deadline is still ahead", () => {
    expect(deadlinePassed(contextWith())).toBeUndefined();
    // Within the margin, so the signal is read: its reason decides.
    const cancelled = contextWith(EARLY_FIRE_MARGIN_MS / 2);
    cancelled.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    expect(deadlinePassed(cancelled)).toBeUndefined();
    const ahead = contextWith(EARLY_FIRE_MARGIN_MS / 2);
    expect(deadlinePassed(ahead)).toBeUndefined();
    ahead.abort();
  });

  it("leaves the signal unread for a call that ends long before its deadline (reading it may make it)", () => {
    let reads = 0;
    const endingWith = (left: number) => ({
      timeoutMs: () => left,
      get signal() {
        reads++;
        return AbortSignal.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded));
      },
    });
    expect(deadlinePassed(endingWith(EARLY_FIRE_MARGIN_MS + 1) as never)).toBeUndefined();
    expect(reads).toBe(0);
    expect(deadlinePassed(endingWith(1) as never)?.code).toBe(Code.DeadlineExceeded);
    expect(reads).toBe(1);
  });
});
