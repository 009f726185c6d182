import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { withRetries } from "./retry.js";

const fast = { initialDelayMs: 1, maxDelayMs: 2 };
const withReason = (reason: string, code: Code) =>
  new ConnectError(reason, code, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: "oma.dev" }) }]);

describe("withRetries: the SDK's one retry loop", () => {
  it("repeats transport faults until the call answers, and passes each attempt its deadline and signal", async () => {
    const signal = new AbortController().signal;
    const seen: { timeoutMs?: number; signal?: AbortSignal }[] = [];
    let calls = 0;
    const out = await withRetries(async (call) => {
      seen.push(call);
      if (++calls < 3) throw new ConnectError("down", Code.Unavailable);
      return "ok";
    }, { backoff: fast, signal, timeoutMs: 1234 });
    expect([out, calls]).toEqual(["ok", 3]);
    expect(seen.every((c) => c.timeoutMs === 1234 && c.signal === signal)).toBe(true);
  });

  it("throws an answer with an OMA reason at once, and the last fault after maxAttempts", async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw withReason("LEASE_LOST", Code.FailedPrecondition); }, { backoff: fast })).rejects.toThrow("LEASE_LOST");
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetries(async () => { calls++; throw new ConnectError("down", Code.Unavailable); }, { backoff: fast, maxAttempts: 4 })).rejects.toThrow("down");
    expect(calls).toBe(4);
  });

  it("stops when its signal aborts, also in the middle of a wait", async () => {
    const abort = new AbortController();
    let calls = 0;
    const run = withRetries(async () => { calls++; throw new ConnectError("down", Code.Unavailable); }, { backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 }, signal: abort.signal, maxAttempts: 100 });
    setTimeout(() => abort.abort(), 20);
    await expect(run).rejects.toThrow("down");
    expect(calls).toBeLessThanOrEqual(2);
  });
});
