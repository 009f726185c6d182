import type Anthropic from "@anthropic-ai/sdk";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Logger } from "../../logger.js";
import { fromInt64 } from "../int64.js";
import { eventBlocks } from "./conversation.js";
import type { Prompt } from "./prompt.js";

/**
 * Bytes of JSON per token that no tokenizer beats on text: an estimate that divides by it
 * is an upper bound, so a request it says fits does fit. Real tokenizers average 3 to 4
 * bytes of English or code per token; the exact count is asked for only near the budget.
 */
export const BYTES_PER_TOKEN_BOUND = 2;

/** Counts a prompt's input tokens exactly (the Messages API's token counting). */
export type TokenCounter = (prompt: Prompt) => Promise<number>;

/** UTF-8 bytes of a value's JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * An upper bound of the next request's input tokens, from the log alone: the input tokens
 * the model reported for the last request made since the last context event (or the
 * `tokens_after` that event measured), plus a bound on what the events after that request
 * (or event) add to the conversation. With neither, a bound on the whole prompt.
 * Deterministic, so a successor decides as its predecessor would have; its cost follows
 * the events since the last request, not the length of the log.
 */
export function estimateInputTokens(events: readonly Event[], prompt: Prompt): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const p = events[i]!.payload;
    if (p.case === "contextCompacted") return fromInt64(p.value.tokensAfter) + addedTokens(events, i + 1);
    if (p.case === "modelUsage") {
      const reported = fromInt64(p.value.inputTokens) + fromInt64(p.value.cacheReadInputTokens) + fromInt64(p.value.cacheCreationInputTokens);
      // The request was the log up to the response's first event: the response is new
      // since. (A compaction's own call never gets here: its usage precedes the context
      // event in the same batch.)
      let start = i;
      while (start > 0 && isResponseEvent(events[start - 1]!)) start--;
      return reported + addedTokens(events, start);
    }
  }
  return Math.ceil(jsonBytes(prompt) / BYTES_PER_TOKEN_BOUND);
}

/** JSON bytes a message wrapper may add around one block (`{"role":"assistant","content":[…]}`). */
const WRAPPER_BYTES = 40;

/** A bound on the tokens the events from index `from` on add to the conversation. */
function addedTokens(events: readonly Event[], from: number): number {
  let bytes = 0;
  for (let i = from; i < events.length; i++) {
    const added = eventBlocks(events[i]!);
    if (added) for (const b of added.blocks) bytes += jsonBytes(b) + WRAPPER_BYTES;
  }
  return Math.ceil(bytes / BYTES_PER_TOKEN_BOUND);
}

function isResponseEvent(e: Event): boolean {
  const c = e.payload.case;
  return c === "agentMessage" || c === "agentThinking" || c === "toolUse";
}

/**
 * The Messages API's token counting (`POST /v1/messages/count_tokens`) for the agent's
 * model. Where the endpoint is missing or fails after the SDK's retries, the upper-bound
 * estimate of the whole prompt stands in, and the brain says so once.
 */
export function apiTokenCounter(client: Anthropic, model: string, logger: Logger): TokenCounter {
  let warned = false;
  return async (prompt) => {
    try {
      const res = await client.messages.countTokens({ model, system: prompt.system, tools: prompt.tools, messages: prompt.messages }, { maxRetries: 2 });
      return res.input_tokens;
    } catch (err) {
      if (!warned) logger.warn({ err: (err as Error).message }, "token counting failed; estimating prompt sizes from their bytes instead");
      warned = true;
      return Math.ceil(jsonBytes(prompt) / BYTES_PER_TOKEN_BOUND);
    }
  };
}
