import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "@oma/client/gen/google/rpc/error_details_pb.js";
import type { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { describe, expect, it } from "vitest";
import { keepLease } from "./lease-keeper.js";

/** A session client whose RenewLease counts its calls and answers `answer()`. */
function renewals(answer: () => Promise<unknown> = () => Promise.resolve({})) {
  const calls: number[] = [];
  const client = { renewLease: () => (calls.push(calls.length), answer()) } as unknown as Client<typeof SessionService>;
  return { calls, client };
}

const leaseLost = () =>
  new ConnectError("lease epoch 1 is not the live lease", Code.FailedPrecondition, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "LEASE_LOST", domain: "oma.dev" }) },
  ]);

describe("a brain's lease keeper", () => {
  it("renews as the brain starts, not a third of the TTL later: the assignment's trip to the worker must not eat the first TTL", async () => {
    const { calls, client } = renewals();
    const keeper = keepLease({ client, sessionId: "s", epoch: 1, ttlMs: 3000, onLost: () => undefined });
    try {
      // Called before keepLease returns, not at the first tick a third of the TTL later.
      expect(calls).toHaveLength(1);
    } finally {
      keeper.stop();
    }
  });

  it("renews every third of the TTL after that, and fences the brain once the server says the lease is lost", async () => {
    let lost = false;
    const { calls, client } = renewals(() =>
      calls.length >= 3 ? Promise.reject(leaseLost()) : Promise.resolve({}),
    );
    const keeper = keepLease({ client, sessionId: "s", epoch: 1, ttlMs: 300, onLost: () => (lost = true) });
    try {
      await new Promise((r) => setTimeout(r, 450));
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(lost).toBe(true);
    } finally {
      keeper.stop();
    }
  });
});
