import { describe, expect, it } from "vitest";
import { LogBuilder } from "../testing/log-builder.js";
import { buildPrompt, danglingToolUseIds, eventsToMessages } from "./prompt.js";

describe("events → Messages API messages (HARN-4, HARN-15)", () => {
  it("pairs each tool_use with its tool_result in alternating assistant/user messages", () => {
    const log = new LogBuilder().user("list files").running().thinking("hmm").agent("Looking.").toolUse("t1").toolUse("t2").usage();
    log.toolResult("t1", "a.txt").toolResult("t2", "boom", true).agent("Two files.").idle();
    expect(eventsToMessages(log.events)).toEqual([
      { role: "user", content: [{ type: "text", text: "list files" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "text", text: "Looking." },
          { type: "tool_use", id: "t1", name: "bash", input: { command: "true" } },
          { type: "tool_use", id: "t2", name: "bash", input: { command: "true" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "t1", content: "a.txt" },
          { type: "tool_result", tool_use_id: "t2", content: "boom", is_error: true },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "Two files." }] },
    ]);
  });

  it("puts tool results before a user message that arrived while the tool ran", () => {
    const log = new LogBuilder().user("go").toolUse("t1").user("also this").toolResult("t1", "done");
    const messages = eventsToMessages(log.events);
    expect(messages[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "t1", content: "done" },
        { type: "text", text: "also this" },
      ],
    });
  });

  it("answers a custom tool with the client's custom_tool_result", () => {
    const log = new LogBuilder().user("ask").toolUse("c1", "lookup", { q: "x" }).idle().customResult("c1", "42");
    expect(eventsToMessages(log.events)[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "c1", content: "42" }] });
  });

  it("keeps one result per tool_use and drops answers to calls that were never made", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1", "interrupted", true).customResult("t1", "late").toolResult("ghost", "?");
    expect(eventsToMessages(log.events)[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "interrupted", is_error: true }] });
    expect(eventsToMessages(log.events)).toHaveLength(3);
  });

  it("detects a dangling tool_use (HARN-6) and none once it is answered", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolUse("t2").toolResult("t1");
    expect(danglingToolUseIds(eventsToMessages(log.events))).toEqual(["t2"]);
    log.toolResult("t2");
    expect(danglingToolUseIds(eventsToMessages(log.events))).toEqual([]);
  });

  it("leaves system events and interrupts out of the conversation", () => {
    const log = new LogBuilder().user("a").running().sandbox("sbx_1").usage().interrupt().idle();
    expect(eventsToMessages(log.events)).toEqual([{ role: "user", content: [{ type: "text", text: "a" }] }]);
  });

  it("marks the last tool, the system prompt and the newest block with cache_control", () => {
    const log = new LogBuilder().user("go").toolUse("t1").toolResult("t1", "out");
    const tools = [
      { name: "bash", description: "run", input_schema: { type: "object" as const } },
      { name: "read_file", description: "read", input_schema: { type: "object" as const } },
    ];
    const prompt = buildPrompt({ systemPrompt: "be brief", tools, events: log.events });
    expect(prompt.tools.map((t) => t.cache_control)).toEqual([undefined, { type: "ephemeral" }]);
    expect(prompt.system).toEqual([{ type: "text", text: "be brief", cache_control: { type: "ephemeral" } }]);
    const marked = prompt.messages.flatMap((m) => m.content).filter((b) => "cache_control" in b && b.cache_control);
    expect(marked).toEqual([{ type: "tool_result", tool_use_id: "t1", content: "out", cache_control: { type: "ephemeral" } }]);
    expect(tools[1]).not.toHaveProperty("cache_control");
  });

  it("keeps the earlier prefix byte-identical between consecutive calls, so the cache hits", () => {
    const log = new LogBuilder().user("go").toolUse("t1");
    const tools = [{ name: "bash", description: "run", input_schema: { type: "object" as const } }];
    log.toolResult("t1", "out");
    const first = buildPrompt({ systemPrompt: "s", tools, events: log.events });
    log.agent("next").toolUse("t2").toolResult("t2", "out2");
    const second = buildPrompt({ systemPrompt: "s", tools, events: log.events });
    const strip = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === "cache_control" ? undefined : x))) as unknown;
    expect(strip(second.messages.slice(0, first.messages.length))).toEqual(strip(first.messages));
    expect(JSON.stringify(second.tools)).toBe(JSON.stringify(first.tools));
  });
});
