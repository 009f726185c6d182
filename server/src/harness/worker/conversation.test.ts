import { describe, expect, it } from "vitest";
import { LogBuilder } from "../testing/log-builder.js";
import { buildConversation, clearedOutput, eventsToMessages, summaryText } from "./conversation.js";
import { buildPrompt } from "./prompt.js";

const long = (n: number) => `${"x".repeat(200)}-${n}`;
const tools = [{ name: "bash", description: "run", input_schema: { type: "object" as const } }];
const marked = (prompt: ReturnType<typeof buildPrompt>) =>
  [...prompt.tools, ...prompt.system, ...prompt.messages.flatMap((m) => m.content)].filter((b) => "cache_control" in b && b.cache_control);

describe("context events in the events → messages function (HARN-22)", () => {
  it("COMPACT: events up to through_seq become one user message with the summary; the rest stays verbatim", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1", "one").toolUse("t2").toolResult("t2", "two");
    const through = log.events.length; // #5
    log.toolUse("t3").usage().compacted(through, "did t1 and t2").toolResult("t3", "three");
    expect(eventsToMessages(log.events)).toEqual([
      { role: "user", content: [{ type: "text", text: summaryText(5, "did t1 and t2") }] },
      { role: "assistant", content: [{ type: "tool_use", id: "t3", name: "bash", input: { command: "true" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t3", content: "three" }] },
    ]);
    expect(summaryText(5, "s")).toContain("#1 to #5");
    expect(summaryText(5, "s")).toContain("session_history");
  });

  it("COMPACT: a later compaction replaces the earlier summary; a result whose call was summarised is left out", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1").compacted(3, "first");
    log.toolUse("t2").customResult("t1", "late answer").toolResult("t2").user("next").compacted(6, "second").toolUse("t3").toolResult("t3");
    const messages = eventsToMessages(log.events);
    expect(messages[0]).toEqual({ role: "user", content: [{ type: "text", text: summaryText(6, "second") }, { type: "text", text: "next" }] });
    expect(JSON.stringify(messages)).not.toContain("first");
    expect(JSON.stringify(messages)).not.toContain("late answer");
  });

  it("CLEAR: outputs of tool results up to through_seq become stubs naming their seq; short outputs and later results stay", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1", long(1)).toolUse("t2").toolResult("t2", "ok").toolUse("t3").toolResult("t3", long(3));
    log.cleared(5).toolUse("t4").toolResult("t4", long(4));
    const results = eventsToMessages(log.events).flatMap((m) => m.content.filter((b) => b.type === "tool_result"));
    expect(results.map((r) => r.content)).toEqual([clearedOutput(3, long(1)), "ok", long(3), long(4)]);
    expect(clearedOutput(3, long(1))).toContain("#3");
    expect(clearedOutput(3, long(1)).length).toBeLessThan(long(1).length);
    expect(clearedOutput(5, "ok")).toBe("ok");
    expect(buildConversation(log.events).context.clearings).toHaveLength(1);
  });

  it("records which events each message came from", () => {
    const log = new LogBuilder().user("go").running().toolUse("t1").toolResult("t1").compacted(4, "s").toolUse("t2").toolResult("t2");
    const { spans } = buildConversation(log.events);
    expect(spans).toEqual([
      { first: 0, last: 0 },
      { first: 6, last: 6 },
      { first: 7, last: 7 },
    ]);
  });

  it("is a pure function: the same log gives byte-identical prompts", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1", long(1)).cleared(3).toolUse("t2").usage().toolResult("t2", long(2));
    const a = JSON.stringify(buildPrompt({ systemPrompt: "s", tools, events: log.events }));
    const b = JSON.stringify(buildPrompt({ systemPrompt: "s", tools, events: [...log.events] }));
    expect(a).toBe(b);
  });
});

describe("cache breakpoints with context events (HARN-15)", () => {
  it("COMPACT: the summary holds a breakpoint, so calls after a compaction share it", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1").compacted(3, "summary").toolUse("t2").toolResult("t2", "out");
    const prompt = buildPrompt({ systemPrompt: "s", tools, events: log.events });
    expect(prompt.messages[0]!.content[0]).toMatchObject({ type: "text", cache_control: { type: "ephemeral" } });
    expect(marked(prompt)).toHaveLength(4);
  });

  it("CLEAR: the breakpoint sits on the newest clearing once a call saw it, on the one before until then", () => {
    const log = new LogBuilder().user("go");
    for (let i = 1; i <= 4; i++) log.toolUse(`t${i}`).toolResult(`t${i}`, long(i));
    log.cleared(3); // t1 cleared (its result is #3)
    log.toolUse("t5").usage().toolResult("t5", long(5));
    const afterFirst = buildPrompt({ systemPrompt: "", tools, events: log.events });
    const cachedResult = (p: ReturnType<typeof buildPrompt>) => marked(p).flatMap((b) => (b.type === "tool_result" ? [b.tool_use_id] : []));
    expect(cachedResult(afterFirst)).toEqual(["t1", "t5"]);
    log.cleared(7); // t1..t3 cleared, no call since
    const justCleared = buildPrompt({ systemPrompt: "", tools, events: log.events });
    expect(cachedResult(justCleared)).toEqual(["t1", "t5"]);
    log.toolUse("t6").usage().toolResult("t6", long(6));
    expect(cachedResult(buildPrompt({ systemPrompt: "", tools, events: log.events }))).toEqual(["t3", "t6"]);
  });

  it("the prefix up to a clearing's breakpoint is unchanged by the next clearing", () => {
    const log = new LogBuilder().user("go");
    for (let i = 1; i <= 6; i++) log.toolUse(`t${i}`).toolResult(`t${i}`, long(i));
    log.cleared(5).toolUse("t7").usage().toolResult("t7", long(7));
    const before = buildPrompt({ systemPrompt: "", tools, events: log.events });
    log.cleared(11);
    const after = buildPrompt({ systemPrompt: "", tools, events: log.events });
    const prefix = (p: ReturnType<typeof buildPrompt>) => {
      const blocks = p.messages.flatMap((m) => m.content);
      return JSON.stringify(blocks.slice(0, blocks.findIndex((b) => b.type === "tool_result" && b.tool_use_id === "t2") + 1));
    };
    expect(prefix(after)).toBe(prefix(before));
  });
});
