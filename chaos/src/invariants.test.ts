import { describe, expect, it } from "vitest";
import { LogBuilder } from "@oma/server/dist/harness/testing/log-builder.js";
import { checkLog } from "./invariants.js";
import type { SessionRun } from "./workload.js";

// The checks of the chaos run must be able to fail: each is shown a log that breaks its rule.
const run = (over: Partial<SessionRun> = {}): SessionRun => ({
  sessionId: "s",
  backend: "bubblewrap",
  turns: 1,
  acked: [],
  watched: [],
  watchProblems: [],
  stopReasons: [],
  outstanding: false,
  lastProgressAt: 0,
  ...over,
});

describe("chaos invariants", () => {
  it("a sound log passes", () => {
    const log = new LogBuilder().user("go").running().toolUse("t1").toolResult("t1").agent("ok").idle().events;
    expect(checkLog(run({ acked: [{ seq: 1, id: log[0]!.id }], watched: [...log] }), log)).toEqual([]);
  });

  it("a gap, a tool with two results and a lost acknowledged event are breaches", () => {
    const full = new LogBuilder().user("go").running().toolUse("t1").toolResult("t1").toolResult("t1").events;
    const gapped = [...full.slice(0, 1), ...full.slice(2)]; // seq 2 missing
    const found = checkLog(run({ acked: [{ seq: 1, id: "evt_other" }], watched: [...gapped] }), gapped);
    expect(found.filter((b) => b.invariant === "log").map((b) => b.detail)).toEqual(["s: seq 3 at position 2", "s: seq 4 at position 3", "s: seq 5 at position 4", "s: tool_use t1 has 2 results"]);
    expect(found.filter((b) => b.invariant === "acknowledged")).toHaveLength(1);
  });

  it("a watcher that missed events or saw others than the log is a breach", () => {
    const log = new LogBuilder().user("go").running().idle().events;
    expect(checkLog(run({ watched: log.slice(0, 2) }), log).map((b) => b.invariant)).toEqual(["watch"]);
    const other = [log[0]!, { ...log[1]!, id: "evt_elsewhere" }, log[2]!];
    expect(checkLog(run({ watched: other }), log).map((b) => b.detail)).toEqual(["s: the watcher saw evt_elsewhere at seq 2, the log has evt_2"]);
  });
});
