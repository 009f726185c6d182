import type Anthropic from "@anthropic-ai/sdk";
import { create } from "@bufbuild/protobuf";
import { promptTokens } from "@oma/conformance/scripted-model";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { toInt64 } from "../int64.js";
import { LogBuilder } from "../testing/log-builder.js";
import { ContextManager, contextSettings, type ContextDeps } from "./context-manager.js";
import { estimateInputTokens } from "./context-measure.js";
import { compactionCut, summaryInstruction } from "./context-plans.js";
import { buildConversation } from "./conversation.js";
import type { ModelOutcome } from "./model-call.js";
import { buildPrompt, type Prompt } from "./prompt.js";

const tools = [{ name: "bash", description: "run", input_schema: { type: "object" as const } }];
const out = (n: number) => `${"o".repeat(400)}-${n}`;

/** A log of `steps` tool calls, each with a 400-character result and the usage of its request. */
function session(steps: number): LogBuilder {
  const log = new LogBuilder().user("go");
  for (let i = 0; i < steps; i++) {
    const request = promptTokens(buildPrompt({ systemPrompt: "", tools, events: log.events }));
    log.toolUse(`t${i}`).usage(request).toolResult(`t${i}`, out(i));
  }
  return log;
}

/** A manager whose token counts are the scripted model's and whose appends go to `log`. */
function manager(strategy: ContextStrategy, log: LogBuilder, max: number, target: number) {
  const calls = { counts: 0, summaries: [] as { prompt: Prompt; toolChoice: Anthropic.ToolChoice; maxTokens: number }[] };
  const deps: ContextDeps = {
    settings: contextSettings({ context: { strategy, maxInputTokens: max, targetInputTokens: target } } as never),
    systemPrompt: "",
    tools,
    count: async (prompt) => {
      calls.counts++;
      return promptTokens(prompt);
    },
    summarise: async (prompt, toolChoice, maxTokens): Promise<ModelOutcome> => {
      calls.summaries.push({ prompt, toolChoice, maxTokens });
      const message = { id: "msg_s", model: "m", content: [{ type: "text", text: "SUMMARY" }], usage: { input_tokens: 5, output_tokens: 3 } } as unknown as Anthropic.Message;
      return { kind: "message", message, durationMs: 1 };
    },
    record: async (payloads) => {
      const stored: Event[] = payloads.map((payload, i) => create(EventSchema, { seq: toInt64(log.nextSeq + i), payload }));
      log.events.push(...stored);
      return stored;
    },
  };
  return { context: new ContextManager(deps), calls };
}

describe("measuring a request (HARN-21)", () => {
  it("estimates from the log an upper bound of what the model counts, without a count", () => {
    for (const steps of [0, 1, 5, 20]) {
      const log = session(steps);
      const prompt = buildPrompt({ systemPrompt: "", tools, events: log.events });
      const exact = promptTokens(prompt);
      const estimate = estimateInputTokens(log.events, prompt);
      expect(estimate).toBeGreaterThanOrEqual(exact);
      // With a reported usage the bound stays close: only the newest step is estimated.
      if (steps > 0) expect(estimate - exact).toBeLessThan(400);
    }
  });

  it("starts again from tokens_after after a context event", () => {
    const log = session(3).cleared(4, 123);
    const prompt = buildPrompt({ systemPrompt: "", tools, events: log.events });
    expect(estimateInputTokens(log.events, prompt)).toBe(123);
    log.toolUse("tx");
    expect(estimateInputTokens(log.events, buildPrompt({ systemPrompt: "", tools, events: log.events }))).toBeGreaterThan(123);
  });
});

describe("acting before the request would not fit (HARN-21)", () => {
  it("NONE and a request within the budget: the prompt as the log gives it, nothing counted or recorded", async () => {
    const log = session(10);
    const before = log.events.length;
    for (const [strategy, max] of [
      [ContextStrategy.NONE, 1024],
      [ContextStrategy.COMPACT, 100_000],
    ] as const) {
      const { context, calls } = manager(strategy, log, max, 512);
      const prepared = await context.prepare(log.events);
      expect(prepared).toEqual({ kind: "ready", prompt: buildPrompt({ systemPrompt: "", tools, events: log.events }) });
      expect(calls.counts).toBe(0);
    }
    expect(log.events).toHaveLength(before);
  });

  it("CLEAR: clears the oldest results down to the target and records what it did", async () => {
    const log = session(30);
    const full = promptTokens(buildPrompt({ systemPrompt: "", tools, events: log.events }));
    const { context } = manager(ContextStrategy.CLEAR, log, full - 100, Math.floor(full / 2));
    const prepared = await context.prepare(log.events);
    const act = log.events.at(-1)!.payload;
    expect(act.case).toBe("contextCompacted");
    if (act.case !== "contextCompacted" || prepared.kind !== "ready") throw new Error("no action");
    expect(act.value.strategy).toBe(ContextStrategy.CLEAR);
    expect(Number(act.value.tokensBefore)).toBe(full);
    expect(Number(act.value.tokensAfter)).toBeLessThanOrEqual(Math.floor(full / 2));
    expect(Number(act.value.tokensAfter)).toBe(promptTokens(prepared.prompt));
    expect(prepared.prompt).toEqual(buildPrompt({ systemPrompt: "", tools, events: log.events }));
    // The newest result is never cleared.
    expect(JSON.stringify(prepared.prompt.messages.at(-1))).toContain(out(29));
  });

  it("COMPACT: summarises the older turns with tools forbidden, keeps the newest verbatim, records summary and usage", async () => {
    const log = session(30);
    const full = promptTokens(buildPrompt({ systemPrompt: "", tools, events: log.events }));
    const { context, calls } = manager(ContextStrategy.COMPACT, log, full - 100, Math.floor(full / 2));
    const prepared = await context.prepare(log.events);
    expect(calls.summaries).toHaveLength(1);
    const asked = calls.summaries[0]!;
    expect(asked.toolChoice).toEqual({ type: "none" });
    const lastBlock = asked.prompt.messages.at(-1)!.content.at(-1)!;
    expect(lastBlock.type === "text" && lastBlock.text.startsWith(summaryInstruction(0).slice(0, 30))).toBe(true);
    const [usage, act] = log.events.slice(-2).map((e) => e.payload);
    expect(usage?.case).toBe("modelUsage");
    if (act?.case !== "contextCompacted" || prepared.kind !== "ready") throw new Error("no compaction");
    expect(act.value).toMatchObject({ strategy: ContextStrategy.COMPACT, summary: "SUMMARY" });
    expect(Number(act.value.tokensAfter)).toBe(promptTokens(prepared.prompt));
    expect(Number(act.value.tokensAfter)).toBeLessThanOrEqual(full - 100);
    expect(prepared.prompt.messages[0]!.content[0]).toMatchObject({ type: "text" });
    expect(JSON.stringify(prepared.prompt.messages.at(-1))).toContain(out(29));
    // The summarising call repeats the prompt's prefix: the messages before the cut, unchanged.
    const cutAt = Number(act.value.throughSeq);
    expect(JSON.stringify(asked.prompt.messages)).toContain(out(Math.floor((cutAt - 2) / 3) - 1));
  });

  it("ends the turn when nothing left can be cleared or summarised", async () => {
    const log = new LogBuilder().user("y".repeat(8000));
    for (const strategy of [ContextStrategy.CLEAR, ContextStrategy.COMPACT]) {
      const { context } = manager(strategy, log, 1024, 512);
      const prepared = await context.prepare(log.events);
      expect(prepared.kind).toBe("exhausted");
    }
  });
});

describe("where COMPACT cuts", () => {
  it("never between a tool_use and its result, never the newest message, keeping the most that fits", () => {
    const log = new LogBuilder().user("go").toolUse("a").toolUse("b").toolResult("a").toolResult("b").agent("done").user("again").toolUse("c").toolResult("c");
    const conversation = buildConversation(log.events);
    const prompt = buildPrompt({ systemPrompt: "", tools, events: log.events });
    const measured = promptTokens(prompt);
    // Messages: user, assistant[a,b], user[ra,rb], assistant[done], user[again], assistant[c], user[rc].
    expect(compactionCut(conversation, prompt, measured, 1_000_000)).toBe(1);
    expect(compactionCut(conversation, prompt, measured, 0)).toBe(5);
    const straddles = (i: number) => JSON.stringify(conversation.messages.slice(i)).includes('"tool_result","tool_use_id":"a"') && !JSON.stringify(conversation.messages.slice(i)).includes('"id":"a"');
    for (const budget of [0, 50, 100, 200, 1_000_000]) expect(straddles(compactionCut(conversation, prompt, measured, budget)!)).toBe(false);
    expect(compactionCut(buildConversation(new LogBuilder().user("only").events), prompt, measured, 0)).toBeUndefined();
  });
});
