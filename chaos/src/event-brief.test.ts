import { create } from "@bufbuild/protobuf";
import { EventSchema, LeaseEndReason } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { briefEvent, briefTail } from "./event-brief.js";

describe("a breach report's events", () => {
  it("name the brain, its epoch and worker, the status detail and the sandbox, so a stranded session's log says who did what", () => {
    const log = [
      create(EventSchema, { seq: 2n, payload: { case: "harnessStarted", value: { harnessId: "hrn_a", leaseEpoch: 1n, workerId: "w1", resumedAfterSeq: 1n } } }),
      create(EventSchema, {
        seq: 6n,
        payload: { case: "statusChanged", value: { status: SessionStatus.RESCHEDULING, detail: "brain hrn_a let its lease expire", endedLease: { harnessId: "hrn_a", leaseEpoch: 1n, reason: LeaseEndReason.EXPIRED } } },
      }),
      create(EventSchema, { seq: 7n, payload: { case: "sandboxProvisioned", value: { sandboxId: "sbx_1", backend: "docker" } } }),
      create(EventSchema, { seq: 8n, payload: { case: "userMessage", value: {} } }),
    ];
    expect(briefEvent(log[0]!)).toBe("#2 harness_started(harness hrn_a epoch 1 after seq 1 on w1)");
    expect(briefEvent(log[1]!)).toBe("#6 status_changed(rescheduling brain hrn_a let its lease expire)");
    expect(briefTail(log, 2)).toBe("#7 sandbox_provisioned(sbx_1 (docker)), #8 user_message");
  });
});
