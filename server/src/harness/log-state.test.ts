import { describe, expect, it } from "vitest";
import { StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { analyzeLog, hasUnfinishedWork } from "./log-state.js";
import { LogBuilder } from "./testing/log-builder.js";

describe("log state: unfinished work (HARN-5, HARN-6)", () => {
  it("a user message after the last idle is unfinished work", () => {
    const log = new LogBuilder().user("a").agent("b").idle().user("c");
    expect(hasUnfinishedWork(analyzeLog(log.events))).toBe(true);
  });

  it("a finished turn is not", () => {
    const log = new LogBuilder().user("a").running().agent("b").idle();
    const state = analyzeLog(log.events);
    expect(hasUnfinishedWork(state)).toBe(false);
    expect(state.lastIdleSeq).toBe(4);
  });

  it("a tool_use without tool_result is pending and unfinished", () => {
    const log = new LogBuilder().user("a").running().toolUse("t1").toolUse("t2").toolResult("t1");
    const state = analyzeLog(log.events);
    expect(state.pendingToolUses.map((p) => p.toolUse.toolUseId)).toEqual(["t2"]);
    expect(hasUnfinishedWork(state)).toBe(true);
  });

  it("a custom tool or an unconfirmed tool waits for the client, not for a brain", () => {
    const custom = new LogBuilder().user("a").toolUse("c1", "lookup", {}, { kind: ToolKind.CUSTOM }).idle(StopReason.REQUIRES_ACTION);
    expect(hasUnfinishedWork(analyzeLog(custom.events))).toBe(false);
    custom.customResult("c1", "x");
    expect(hasUnfinishedWork(analyzeLog(custom.events))).toBe(true);

    const confirm = new LogBuilder().user("a").toolUse("t1", "bash", {}, { requiresConfirmation: true }).idle(StopReason.REQUIRES_ACTION);
    expect(hasUnfinishedWork(analyzeLog(confirm.events))).toBe(false);
    confirm.confirm("t1", true);
    const state = analyzeLog(confirm.events);
    expect(hasUnfinishedWork(state)).toBe(true);
    expect(state.pendingToolUses[0]?.confirmation).toBeDefined();
  });

  it("an interrupt after the input cancels it", () => {
    const log = new LogBuilder().user("a").running().interrupt();
    expect(hasUnfinishedWork(analyzeLog(log.events))).toBe(false);
  });

  it("remembers the newest sandbox", () => {
    const log = new LogBuilder().sandbox("sbx_1").sandbox("sbx_2", "sbx_1");
    expect(analyzeLog(log.events).sandboxId).toBe("sbx_2");
  });
});
