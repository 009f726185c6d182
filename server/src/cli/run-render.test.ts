import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { renderRunEvent } from "./run-render.js";

describe("oma run output", () => {
  it("shows a context action as one dim line naming what left the context", () => {
    const compact = create(EventSchema, { seq: 9n, payload: { case: "contextCompacted", value: { strategy: ContextStrategy.COMPACT, throughSeq: 7n, tokensBefore: 200n, tokensAfter: 50n } } });
    expect(renderRunEvent(compact, false)).toBe("  context: summarised events up to #7, 200 → 50 input tokens");
    const clear = create(EventSchema, { seq: 9n, payload: { case: "contextCompacted", value: { strategy: ContextStrategy.CLEAR, throughSeq: 5n, tokensBefore: 200n, tokensAfter: 120n } } });
    expect(renderRunEvent(clear, false)).toBe("  context: cleared tool results of events up to #5, 200 → 120 input tokens");
  });
});
