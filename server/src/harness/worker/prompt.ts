import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ConfirmationDecision } from "@oma/client/gen/oma/v1/event_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";

/** The Messages API shapes the brain sends (a JSON subset of the API's request). */
export interface CacheControl {
  readonly type: "ephemeral";
}
export type PromptBlock =
  | { type: "text"; text: string; cache_control?: CacheControl }
  | { type: "image"; source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string }; cache_control?: CacheControl }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: JsonObject; cache_control?: CacheControl }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean; cache_control?: CacheControl };

export interface PromptMessage {
  role: "user" | "assistant";
  content: PromptBlock[];
}

export interface PromptTool {
  name: string;
  description: string;
  input_schema: JsonObject;
  cache_control?: CacheControl;
}

export interface Prompt {
  readonly system: { type: "text"; text: string; cache_control?: CacheControl }[];
  readonly tools: PromptTool[];
  readonly messages: PromptMessage[];
}

const ephemeral: CacheControl = { type: "ephemeral" };

function contentToBlocks(content: readonly ContentBlock[]): PromptBlock[] {
  const out: PromptBlock[] = [];
  for (const block of content) {
    const b = block.block;
    if (b.case === "text") out.push({ type: "text", text: b.value.text });
    else if (b.case === "image") {
      out.push(
        b.value.url
          ? { type: "image", source: { type: "url", url: b.value.url } }
          : { type: "image", source: { type: "base64", media_type: b.value.mediaType, data: Buffer.from(b.value.data).toString("base64") } },
      );
    }
  }
  return out;
}

/**
 * Turns a session's log into Messages API messages. Agent events become assistant
 * blocks, user input and tool results user blocks; consecutive blocks of one role share a
 * message, and in a user message the tool results come first, as the API requires. A
 * denied confirmation is answered by the brain's own tool_result, so it adds nothing
 * here; system events (status, usage, errors, interrupts) are not part of the
 * conversation.
 */
export function eventsToMessages(events: readonly Event[]): PromptMessage[] {
  const messages: PromptMessage[] = [];
  // The API takes exactly one result per tool_use, after it: a second answer (a client's
  // late custom_tool_result after an interrupt already answered) or an answer to an
  // unknown call is left out.
  const asked = new Set<string>();
  const answered = new Set<string>();
  const push = (role: "user" | "assistant", blocks: PromptBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: [...blocks] });
  };
  const answer = (toolUseId: string, output: string, isError: boolean) => {
    if (!asked.has(toolUseId) || answered.has(toolUseId)) return;
    answered.add(toolUseId);
    push("user", [{ type: "tool_result", tool_use_id: toolUseId, content: output, ...(isError ? { is_error: true } : {}) }]);
  };
  for (const event of events) {
    const p = event.payload;
    switch (p.case) {
      case "userMessage":
        push("user", contentToBlocks(p.value.content));
        break;
      case "agentThinking":
        push("assistant", [{ type: "thinking", thinking: p.value.thinking, signature: p.value.signature }]);
        break;
      case "agentMessage":
        push("assistant", contentToBlocks(p.value.content));
        break;
      case "toolUse":
        asked.add(p.value.toolUseId);
        push("assistant", [{ type: "tool_use", id: p.value.toolUseId, name: p.value.name, input: (p.value.input ?? {}) as JsonObject }]);
        break;
      case "toolResult":
      case "customToolResult":
        answer(p.value.toolUseId, p.value.output, p.value.isError);
        break;
      default:
        break;
    }
  }
  for (const m of messages) {
    if (m.role === "user") m.content.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
  }
  return messages;
}

/** Ids of tool_use blocks that no tool_result answers: the model cannot be called with them. */
export function danglingToolUseIds(messages: readonly PromptMessage[]): string[] {
  const answered = new Set<string>();
  for (const m of messages) for (const b of m.content) if (b.type === "tool_result") answered.add(b.tool_use_id);
  const dangling: string[] = [];
  for (const m of messages) for (const b of m.content) if (b.type === "tool_use" && !answered.has(b.id)) dangling.push(b.id);
  return dangling;
}

/** The confirmation decision a user gave, as the model should see a denial. */
export function denialOutput(decision: ConfirmationDecision, denyMessage: string): string | undefined {
  if (decision !== ConfirmationDecision.DENY) return undefined;
  return denyMessage || "The user denied this tool call.";
}

/**
 * The full prompt with cache breakpoints on the stable prefix (HARN-15): the last tool,
 * the system prompt, and the newest block of the conversation — the next call repeats
 * all of it, so it reads everything up to there from the cache.
 */
export function buildPrompt(input: { systemPrompt: string; tools: readonly PromptTool[]; events: readonly Event[] }): Prompt {
  const tools = input.tools.map((t) => ({ ...t }));
  const lastTool = tools[tools.length - 1];
  if (lastTool) lastTool.cache_control = ephemeral;
  const system = input.systemPrompt ? [{ type: "text" as const, text: input.systemPrompt, cache_control: ephemeral }] : [];
  const messages = eventsToMessages(input.events);
  const last = messages[messages.length - 1];
  if (last) {
    for (let i = last.content.length - 1; i >= 0; i--) {
      const block = last.content[i]!;
      if (block.type !== "thinking") {
        last.content[i] = { ...block, cache_control: ephemeral };
        break;
      }
    }
  }
  return { system, tools, messages };
}
