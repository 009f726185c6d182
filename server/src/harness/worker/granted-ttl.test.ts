import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { WorkAssignmentSchema } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { describe, expect, it } from "vitest";
import { durationFromMs } from "../duration.js";
import { grantedTtlMs } from "./worker.js";

describe("the TTL a brain renews its lease with", () => {
  const now = 1_796_000_000_000;

  it("is the assignment's lease_ttl, whatever this host's clock says of lease_expire_time", () => {
    // A host clock 20 s behind the server's would read 50 s left on a 30 s lease.
    const a = create(WorkAssignmentSchema, { leaseTtl: durationFromMs(30_000), leaseExpireTime: timestampFromMs(now + 50_000) });
    expect(grantedTtlMs(a, now)).toBe(30_000);
    expect(grantedTtlMs(create(WorkAssignmentSchema, { leaseTtl: durationFromMs(2_500) }), now)).toBe(2_500);
  });

  it("without lease_ttl (an older server), is the time left on the lease, rounded to 100 ms", () => {
    expect(grantedTtlMs(create(WorkAssignmentSchema, { leaseExpireTime: timestampFromMs(now + 29_960) }), now)).toBe(30_000);
    expect(grantedTtlMs(create(WorkAssignmentSchema, {}), now)).toBe(30_000);
  });

  it("stays within SESS-16's bounds of 1 s to 10 min", () => {
    expect(grantedTtlMs(create(WorkAssignmentSchema, { leaseTtl: durationFromMs(200) }), now)).toBe(1_000);
    expect(grantedTtlMs(create(WorkAssignmentSchema, { leaseTtl: durationFromMs(3_600_000) }), now)).toBe(600_000);
    expect(grantedTtlMs(create(WorkAssignmentSchema, { leaseExpireTime: timestampFromMs(now - 5_000) }), now)).toBe(1_000);
  });
});
