import type Anthropic from "@anthropic-ai/sdk";
import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import type { ContextCompacted, Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy } from "@oma/client/gen/oma/v1/session_pb.js";
import { fromInt64 } from "../int64.js";

/** The Messages API blocks a brain sends (the SDK's own request types). */
export type PromptBlock =
  | Anthropic.TextBlockParam
  | Anthropic.ImageBlockParam
  | Anthropic.ThinkingBlockParam
  | Anthropic.ToolUseBlockParam
  | Anthropic.ToolResultBlockParam;

/** One message of the conversation: an `Anthropic.MessageParam` whose content is blocks. */
export interface PromptMessage {
  role: "user" | "assistant";
  content: PromptBlock[];
}

/** The seqs of the first and last event a message was built from (0 for none). */
export interface MessageSpan {
  first: number;
  last: number;
}

/** The context events in force over a log (HARN-22). */
export interface ContextState {
  /** The last COMPACT event and its seq: events up to its `through_seq` are its summary. */
  readonly compaction: { readonly seq: number; readonly event: ContextCompacted } | undefined;
  /** The CLEAR events, oldest first, with their seqs. */
  readonly clearings: readonly { readonly seq: number; readonly event: ContextCompacted }[];
}

/** A conversation and where each of its messages came from in the log. */
export interface Conversation {
  readonly messages: PromptMessage[];
  /** One per message. A span starting at 0 includes the compaction summary. */
  readonly spans: MessageSpan[];
  readonly context: ContextState;
}

/** The text of the user message that stands for the summarised events (COMPACT). */
export function summaryText(throughSeq: number, summary: string): string {
  return (
    `[Context compacted: events #1 to #${throughSeq} of this session are summarised below. ` +
    `The log still holds every one of them; the session_history tool reads them back.]\n\n${summary}`
  );
}

/**
 * What a cleared tool result says in place of its output (CLEAR): a stub naming its seq,
 * unless the output is no longer than the stub and stays as it is.
 */
export function clearedOutput(seq: number, output: string): string {
  const stub = `[cleared: output of #${seq}, ${output.length} characters; session_history from_seq ${seq} reads it]`;
  return stub.length < output.length ? stub : output;
}

/** The context events of a log: the last compaction and every clearing. */
export function contextState(events: readonly Event[]): ContextState {
  let compaction: ContextState["compaction"];
  const clearings: { seq: number; event: ContextCompacted }[] = [];
  for (const e of events) {
    if (e.payload.case !== "contextCompacted") continue;
    const entry = { seq: fromInt64(e.seq), event: e.payload.value };
    if (entry.event.strategy === ContextStrategy.COMPACT) compaction = entry;
    else if (entry.event.strategy === ContextStrategy.CLEAR) clearings.push(entry);
  }
  return { compaction, clearings };
}

function contentToBlocks(content: readonly ContentBlock[]): PromptBlock[] {
  const out: PromptBlock[] = [];
  for (const block of content) {
    const b = block.block;
    if (b.case === "text") out.push({ type: "text", text: b.value.text });
    else if (b.case === "image") {
      out.push(
        b.value.url
          ? { type: "image", source: { type: "url", url: b.value.url } }
          : {
              type: "image",
              source: { type: "base64", media_type: b.value.mediaType as Anthropic.Base64ImageSource["media_type"], data: Buffer.from(b.value.data).toString("base64") },
            },
      );
    }
  }
  return out;
}

/**
 * The blocks one event adds to the conversation and their role, before the pairing of
 * results with calls and before context events apply; undefined for events outside it.
 */
export function eventBlocks(event: Event): { role: "user" | "assistant"; blocks: PromptBlock[] } | undefined {
  const p = event.payload;
  switch (p.case) {
    case "userMessage":
      return { role: "user", blocks: contentToBlocks(p.value.content) };
    case "agentThinking":
      return { role: "assistant", blocks: [{ type: "thinking", thinking: p.value.thinking, signature: p.value.signature }] };
    case "agentMessage":
      return { role: "assistant", blocks: contentToBlocks(p.value.content) };
    case "toolUse":
      return { role: "assistant", blocks: [{ type: "tool_use", id: p.value.toolUseId, name: p.value.name, input: p.value.input ?? {} }] };
    case "toolResult":
    case "customToolResult":
      return { role: "user", blocks: [{ type: "tool_result", tool_use_id: p.value.toolUseId, content: p.value.output, ...(p.value.isError ? { is_error: true } : {}) }] };
    default:
      return undefined;
  }
}

/**
 * Turns a session's log into Messages API messages (HARN-4, HARN-22), a pure function of
 * the events. Agent events become assistant blocks, user input and tool results user
 * blocks; consecutive blocks of one role share a message, and in a user message the tool
 * results come first, as the API requires. A denied confirmation is answered by the
 * brain's own tool_result, so it adds nothing here; system events (status, usage,
 * errors, interrupts, context events) are not part of the conversation.
 *
 * Context events shape it: after a COMPACT `context_compacted`, the events up to its
 * `through_seq` are replaced by one user message carrying its summary (a later
 * compaction's summary covers the earlier one); the output of a tool result at or below
 * the `through_seq` of the last CLEAR is replaced by a stub naming its seq (`clearedOutput`).
 */
export function buildConversation(events: readonly Event[]): Conversation {
  const context = contextState(events);
  const summarisedThrough = context.compaction ? fromInt64(context.compaction.event.throughSeq) : 0;
  const clearedThrough = context.clearings.reduce((n, c) => Math.max(n, fromInt64(c.event.throughSeq)), 0);
  const messages: PromptMessage[] = [];
  const spans: MessageSpan[] = [];
  const asked = new Set<string>();
  const answered = new Set<string>();
  const push = (role: "user" | "assistant", blocks: PromptBlock[], seq: number) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) {
      last.content.push(...blocks);
      spans[spans.length - 1]!.last = seq;
    } else {
      messages.push({ role, content: [...blocks] });
      spans.push({ first: seq, last: seq });
    }
  };
  if (context.compaction) push("user", [{ type: "text", text: summaryText(summarisedThrough, context.compaction.event.summary) }], 0);
  for (const event of events) {
    const seq = fromInt64(event.seq);
    if (seq <= summarisedThrough) continue;
    const added = eventBlocks(event);
    if (!added) continue;
    const block = added.blocks[0];
    if (block?.type === "tool_use") asked.add(block.id);
    else if (block?.type === "tool_result") {
      // The API takes exactly one result per tool_use, after it: a second answer (a
      // client's late custom_tool_result after an interrupt already answered) or an
      // answer to an unknown (or summarised) call is left out.
      const id = block.tool_use_id;
      if (!asked.has(id) || answered.has(id)) continue;
      answered.add(id);
      if (seq <= clearedThrough) block.content = clearedOutput(seq, block.content as string);
    }
    push(added.role, added.blocks, seq);
  }
  for (const m of messages) {
    if (m.role === "user") m.content.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
  }
  return { messages, spans, context };
}

/** The messages of `buildConversation`. */
export function eventsToMessages(events: readonly Event[]): PromptMessage[] {
  return buildConversation(events).messages;
}

/** Ids of tool_use blocks that no tool_result answers: the model cannot be called with them. */
export function danglingToolUseIds(messages: readonly PromptMessage[]): string[] {
  const answered = new Set<string>();
  for (const m of messages) for (const b of m.content) if (b.type === "tool_result") answered.add(b.tool_use_id);
  const dangling: string[] = [];
  for (const m of messages) for (const b of m.content) if (b.type === "tool_use" && !answered.has(b.id)) dangling.push(b.id);
  return dangling;
}
