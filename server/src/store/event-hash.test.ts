import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { describe, expect, it } from "vitest";
import { defaultLimits } from "../limits.js";
import { validateEvents } from "../session/validate-events.js";
import { hashEvents, sameHash } from "./event-hash.js";

describe("an append's fingerprint", () => {
  it("is the same over the JSON the events' check made as over the events alone, and tells other content apart", () => {
    const sent = [
      create(EventSchema, { seq: 5n, id: "evt_client", payload: { case: "custom", value: { type: "t", data: { b: 1, a: [true, "x"] } } } }),
      create(EventSchema, { payload: { case: "toolUse", value: { toolUseId: "toolu_1", name: "bash", input: { command: "ls" } } } }),
    ];
    const checked = validateEvents(sent, defaultLimits, (i) => `events[${i}]`);
    expect(sameHash(hashEvents(checked.events, checked.json), hashEvents(sent))).toBe(true);
    const other = validateEvents([sent[0]!], defaultLimits, (i) => `events[${i}]`);
    expect(sameHash(hashEvents(other.events, other.json), hashEvents(sent))).toBe(false);
  });
});
