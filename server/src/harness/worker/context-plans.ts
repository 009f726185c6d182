import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { fromInt64 } from "../int64.js";
import { clearedOutput, type Conversation, type PromptBlock, type PromptMessage } from "./conversation.js";
import { jsonBytes } from "./context-measure.js";
import type { Prompt } from "./prompt.js";

/** A tool result the CLEAR strategy may clear, and the tokens saved by clearing it and every older one. */
export interface ClearingStep {
  readonly seq: number;
  readonly cumulativeTokens: number;
}

/**
 * The tool results CLEAR may clear, oldest first: every one still in the prompt except
 * those of the newest message (the results the model is about to read), with the tokens
 * clearing up to each would save, scaled from bytes by the measured size of the prompt.
 */
export function clearingPlan(events: readonly Event[], conversation: Conversation, prompt: Prompt, measured: number): ClearingStep[] {
  const scale = measured / jsonBytes(prompt);
  const resultSeq = new Map<string, { seq: number; output: string }>();
  for (const e of events) {
    const p = e.payload;
    if ((p.case === "toolResult" || p.case === "customToolResult") && !resultSeq.has(p.value.toolUseId)) resultSeq.set(p.value.toolUseId, { seq: fromInt64(e.seq), output: p.value.output });
  }
  const clearedThrough = conversation.context.clearings.reduce((n, c) => Math.max(n, fromInt64(c.event.throughSeq)), 0);
  const candidates: { seq: number; saved: number }[] = [];
  for (const m of conversation.messages.slice(0, -1)) {
    for (const b of m.content) {
      if (b.type !== "tool_result") continue;
      const r = resultSeq.get(b.tool_use_id);
      if (!r || r.seq <= clearedThrough) continue;
      candidates.push({ seq: r.seq, saved: Math.max(0, jsonBytes(r.output) - jsonBytes(clearedOutput(r.seq, r.output))) * scale });
    }
  }
  candidates.sort((a, b) => a.seq - b.seq);
  let total = 0;
  return candidates.map((c) => ({ seq: c.seq, cumulativeTokens: (total += c.saved) }));
}

/**
 * Where COMPACT cuts the conversation: the index of the first message kept verbatim. A
 * cut never separates a tool_use from its result, leaves the newest message, and
 * summarises at least one event beyond the last summary. Of the cuts, the one that keeps
 * the most while the kept messages stay within `budget` tokens (less the tools and the
 * system prompt), else the one that keeps the least; undefined when there is none.
 */
export function compactionCut(conversation: Conversation, prompt: Prompt, measured: number, budget: number): number | undefined {
  const { messages, spans } = conversation;
  const n = messages.length;
  const straddled = new Array<boolean>(n + 1).fill(false);
  const usedAt = new Map<string, number>();
  messages.forEach((m, i) => {
    for (const b of m.content) {
      if (b.type === "tool_use") usedAt.set(b.id, i);
      else if (b.type === "tool_result") {
        const at = usedAt.get(b.tool_use_id);
        if (at !== undefined) for (let j = at + 1; j <= i; j++) straddled[j] = true;
      }
    }
  });
  const summarisedThrough = conversation.context.compaction ? fromInt64(conversation.context.compaction.event.throughSeq) : 0;
  const scale = measured / jsonBytes(prompt);
  const room = budget - (jsonBytes(prompt.tools) + jsonBytes(prompt.system)) * scale - SUMMARY_PREAMBLE_TOKENS;
  const tail = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) tail[i] = tail[i + 1]! + jsonBytes(messages[i]) * scale;
  let latest: number | undefined;
  for (let i = 1; i < n; i++) {
    if (straddled[i] || spans[i - 1]!.last <= summarisedThrough) continue;
    if (tail[i]! <= room) return i;
    latest = i;
  }
  return latest;
}

/** Tokens the compaction's own words around the summary take, kept free when cutting. */
const SUMMARY_PREAMBLE_TOKENS = 64;

/** What the summarising call asks the model, after the messages it summarises. */
export function summaryInstruction(throughSeq: number): string {
  return (
    `Your context is nearly full. Write a summary of the conversation above (session events #1 to #${throughSeq}); it ` +
    "will replace those turns in your context, and the session_history tool can still read any of them back by seq. " +
    "Keep what the rest of the task needs: the user's requests and constraints, decisions and their reasons, files and " +
    "commands that matter, the current state, what remains to do, and the seqs of events worth re-reading. Answer " +
    "with the summary only."
  );
}

/**
 * The summarising request: the tools and system prompt of the session's prompt (so its
 * cached prefix is read), the messages before the cut with a cache breakpoint on their
 * last block — where an earlier call wrote its newest entry — and the instruction.
 */
export function summaryPrompt(prompt: Prompt, conversation: Conversation, cut: number, throughSeq: number): Prompt {
  const messages: PromptMessage[] = conversation.messages.slice(0, cut).map((m) => ({ role: m.role, content: [...m.content] }));
  const last = messages[messages.length - 1]!;
  for (let i = last.content.length - 1; i >= 0; i--) {
    const b = last.content[i]!;
    if (b.type !== "thinking") {
      last.content[i] = { ...b, cache_control: { type: "ephemeral" } } as PromptBlock;
      break;
    }
  }
  const instruction: PromptBlock = { type: "text", text: summaryInstruction(throughSeq) };
  if (last.role === "user") last.content.push(instruction);
  else messages.push({ role: "user", content: [instruction] });
  return { system: prompt.system, tools: prompt.tools, messages };
}
