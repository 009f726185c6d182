import { JetStreamApiError, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { untilLed } from "./kv-bucket.js";

const notFound = () => new JetStreamApiError({ code: 404, err_code: 10059, description: "stream not found" });

/** A manager whose stream info answers each call in turn from `answers` (an Error is thrown). */
function managerAnswering(answers: (Partial<StreamInfo> | Error)[]): { jsm: Pick<JetStreamManager, "streams">; calls: () => number } {
  let calls = 0;
  const streams = {
    info: async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a as StreamInfo;
    },
  } as unknown as JetStreamManager["streams"];
  return { jsm: { streams }, calls: () => calls };
}

describe("untilLed: waiting for a bucket's stream to have a leader", () => {
  it("waits out a server that does not know the just-created stream yet, then one without a leader", async () => {
    const m = managerAnswering([notFound(), notFound(), { cluster: { name: "c", replicas: [] } }, { cluster: { name: "c", leader: "n2", replicas: [] } }]);
    await untilLed(m.jsm, "KV_x", 5_000);
    expect(m.calls()).toBe(4);
  });

  it("gives up on a stream that stays missing once its wait is over, with the cluster's error", async () => {
    const m = managerAnswering([notFound()]);
    await expect(untilLed(m.jsm, "KV_x", 300)).rejects.toThrow(/stream not found/);
    expect(m.calls()).toBeGreaterThan(1);
  });

  it("does not wait on any other error", async () => {
    const m = managerAnswering([new JetStreamApiError({ code: 500, err_code: 10039, description: "jetstream not enabled" })]);
    await expect(untilLed(m.jsm, "KV_x", 5_000)).rejects.toThrow(/jetstream not enabled/);
    expect(m.calls()).toBe(1);
  });
});
