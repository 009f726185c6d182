import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { isTransientFailure } from "./backoff.js";
import { omaError } from "./testing/fake-session-service.js";

describe("isTransientFailure", () => {
  it("retries transport faults: unreachable, deadline, aborted, and a stream reset under the call (CANCELED without a reason)", () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Canceled, Code.Unknown, Code.Internal]) {
      expect([Code[code], isTransientFailure(new ConnectError("transport", code))]).toEqual([Code[code], true]);
    }
  });

  it("never retries an answer of the server (an OMA reason), whatever its code", () => {
    expect(isTransientFailure(omaError(Code.FailedPrecondition, "LEASE_LOST"))).toBe(false);
    expect(isTransientFailure(omaError(Code.Internal, "INTERNAL"))).toBe(false);
    expect(isTransientFailure(omaError(Code.Canceled, "INTERNAL"))).toBe(false);
    // A lost sandbox is UNAVAILABLE too, but retrying cannot bring it back: a brain that
    // retried it rode out ten attempts (about 15 s) before replacing the sandbox (HARN-8).
    expect(isTransientFailure(omaError(Code.Unavailable, "SANDBOX_LOST"))).toBe(false);
    expect(isTransientFailure(omaError(Code.Unavailable, "STORAGE_UNAVAILABLE"))).toBe(false);
    expect(isTransientFailure(new ConnectError("bad", Code.InvalidArgument))).toBe(false);
    expect(isTransientFailure(new Error("not an RPC error"))).toBe(false);
  });
});
