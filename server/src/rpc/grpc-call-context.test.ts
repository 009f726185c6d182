import { EventEmitter } from "node:events";
import { Metadata } from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { GrpcCallContext } from "./grpc-call-context.js";

/** A grpc-js server call as the context reads it: metadata, a deadline, `cancelled` and its event. */
function fakeCall(deadline: number = Infinity) {
  const call = Object.assign(new EventEmitter(), { metadata: new Metadata(), cancelled: false, getDeadline: () => deadline });
  const cancel = () => {
    call.cancelled = true;
    call.emit("cancelled", "cancelled");
  };
  return { call, cancel };
}

const contextOf = (call: ReturnType<typeof fakeCall>["call"]) => new GrpcCallContext(SessionService, SessionService.method.emitEvent, call as never);
const reasonOf = (signal: AbortSignal) => ConnectError.from(signal.reason);

describe("GrpcCallContext: a grpc-js call's handler context, its signal made when first read", () => {
  it("a signal read before the client cancels aborts with CANCELED when it does; end() then leaves no listener", () => {
    const { call, cancel } = fakeCall();
    const ctx = contextOf(call);
    expect(call.listenerCount("cancelled")).toBe(0); // nothing is made until the signal is read
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    expect(call.listenerCount("cancelled")).toBe(1);
    cancel();
    expect(signal.aborted).toBe(true);
    expect(reasonOf(signal).code).toBe(Code.Canceled);
    ctx.end();
    expect(call.listenerCount("cancelled")).toBe(0);
  });

  it("a signal first read after the client cancelled starts aborted with CANCELED", () => {
    const { call, cancel } = fakeCall();
    const ctx = contextOf(call);
    cancel();
    expect(ctx.signal.aborted).toBe(true);
    expect(reasonOf(ctx.signal).code).toBe(Code.Canceled);
  });

  it("a signal first read after the deadline starts aborted with DEADLINE_EXCEEDED; one read before aborts when it passes", async () => {
    const late = contextOf(fakeCall(Date.now() - 1).call);
    expect(late.timeoutMs()).toBeLessThanOrEqual(0);
    expect(late.signal.aborted).toBe(true);
    expect(reasonOf(late.signal).code).toBe(Code.DeadlineExceeded);

    const early = contextOf(fakeCall(Date.now() + 30).call);
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    expect(reasonOf(signal).code).toBe(Code.DeadlineExceeded);
    early.end();
  });

  it("without a deadline the time left is undefined, and the response headers exist when asked for", () => {
    const ctx = contextOf(fakeCall().call);
    expect(ctx.timeoutMs()).toBeUndefined();
    ctx.responseHeader.set("x-a", "1");
    expect(ctx.responseHeader.get("x-a")).toBe("1");
    expect(ctx.responseTrailer).toBeInstanceOf(Headers);
    expect(ctx.url).toBe("/oma.v1.SessionService/EmitEvent");
  });
});
