import type Anthropic from "@anthropic-ai/sdk";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { fromInt64 } from "../int64.js";
import { buildConversation, type Conversation, type PromptBlock, type PromptMessage } from "./conversation.js";

export { danglingToolUseIds, eventsToMessages, type PromptBlock, type PromptMessage } from "./conversation.js";

/** A tool as the brain offers it to the model. */
export type PromptTool = Anthropic.Tool;

/** Everything of a Messages request that comes from the log and the agent: what a brain sends. */
export interface Prompt {
  readonly system: Anthropic.TextBlockParam[];
  readonly tools: PromptTool[];
  readonly messages: PromptMessage[];
}

const ephemeral: Anthropic.CacheControlEphemeral = { type: "ephemeral" };

/**
 * The full prompt with cache breakpoints on the stable prefix (HARN-15), a pure function
 * of the log, the system prompt and the tools (HARN-22). The breakpoints: the last tool,
 * the system prompt, the newest block of the conversation (the next call repeats all of
 * it), and one where the context events leave a prefix that stays: the summary of a
 * compaction, or the newest block a clearing left that the next clearing will not touch
 * (see `stableClearingSeq`), so the first call after a clearing still reads the prefix
 * before it from the cache.
 */
export function buildPrompt(input: { systemPrompt: string; tools: readonly PromptTool[]; events: readonly Event[] }): Prompt {
  return promptOf(input.systemPrompt, input.tools, buildConversation(input.events), input.events);
}

/** `buildPrompt` over a conversation already built from `events`. */
export function promptOf(systemPrompt: string, toolList: readonly PromptTool[], conversation: Conversation, events: readonly Event[]): Prompt {
  const tools = toolList.map((t) => ({ ...t }));
  const lastTool = tools[tools.length - 1];
  if (lastTool) lastTool.cache_control = ephemeral;
  const system = systemPrompt ? [{ type: "text" as const, text: systemPrompt, cache_control: ephemeral }] : [];
  const messages = conversation.messages.map((m) => ({ role: m.role, content: [...m.content] }));
  const stable = stableBlock(conversation, events);
  if (stable) mark(messages, stable.message, stable.block);
  const last = messages[messages.length - 1];
  if (last) {
    for (let i = last.content.length - 1; i >= 0; i--) {
      if (last.content[i]!.type !== "thinking") {
        mark(messages, messages.length - 1, i);
        break;
      }
    }
  }
  return { system, tools, messages };
}

function mark(messages: PromptMessage[], message: number, block: number): void {
  const m = messages[message]!;
  const b = m.content[block]!;
  if (b.type !== "thinking") m.content[block] = { ...b, cache_control: ephemeral } as PromptBlock;
}

/** Where the context events leave a prefix that later calls share: message and block index. */
function stableBlock(conversation: Conversation, events: readonly Event[]): { message: number; block: number } | undefined {
  const { compaction } = conversation.context;
  if (compaction) {
    // The summary opens the first message; it stays until the next compaction.
    return conversation.messages.length > 0 ? { message: 0, block: 0 } : undefined;
  }
  const seq = stableClearingSeq(events, conversation);
  if (seq === 0) return undefined;
  const result = eventAt(events, seq)?.payload;
  if (result?.case !== "toolResult" && result?.case !== "customToolResult") return undefined;
  const id = result.value.toolUseId;
  for (let m = 0; m < conversation.messages.length; m++) {
    const block = conversation.messages[m]!.content.findIndex((b) => b.type === "tool_result" && b.tool_use_id === id);
    if (block >= 0) return { message: m, block };
  }
  return undefined;
}

/**
 * The seq of the cleared tool result whose prefix a breakpoint holds under CLEAR: the
 * newest clearing's once a model call was made after it (that call wrote the entry), and
 * the one before it until then — the calls since that earlier clearing wrote its entry,
 * and the newest clearing changed nothing before it, so the first call after a clearing
 * reads it. 0 for none.
 */
export function stableClearingSeq(events: readonly Event[], conversation: Conversation): number {
  const clearings = conversation.context.clearings;
  const newest = clearings[clearings.length - 1];
  if (!newest) return 0;
  const calledSince = events.some((e) => e.payload.case === "modelUsage" && fromInt64(e.seq) > newest.seq);
  const chosen = calledSince ? newest : clearings[clearings.length - 2];
  return chosen ? fromInt64(chosen.event.throughSeq) : 0;
}

/** The event with `seq` in a log held from seq 1 (or wherever it starts), without a scan. */
function eventAt(events: readonly Event[], seq: number): Event | undefined {
  const first = events[0] ? fromInt64(events[0].seq) : 1;
  const e = events[seq - first];
  return e && fromInt64(e.seq) === seq ? e : events.find((x) => fromInt64(x.seq) === seq);
}
