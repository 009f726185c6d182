import type Anthropic from "@anthropic-ai/sdk";
import type { JsonObject } from "@bufbuild/protobuf";
import { ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { durationFromMs } from "../duration.js";
import { toInt64 } from "../int64.js";
import type { PayloadInit } from "./session-writer.js";
import type { ToolCatalog } from "./tool-catalog.js";

/**
 * The events one model response becomes, in block order, followed by its model_usage.
 * The brain appends them as one atomic batch, so a successor never sees half an answer.
 */
export function responseEvents(message: Anthropic.Message, catalog: ToolCatalog, durationMs: number): PayloadInit[] {
  const out: PayloadInit[] = [];
  for (const block of message.content) {
    if (block.type === "thinking") {
      out.push({ case: "agentThinking", value: { thinking: block.thinking, signature: block.signature } });
    } else if (block.type === "text") {
      if (block.text.length === 0) continue;
      out.push({ case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: block.text } } }], modelMessageId: message.id } });
    } else if (block.type === "tool_use") {
      const entry = catalog.byName.get(block.name);
      out.push({
        case: "toolUse",
        value: {
          toolUseId: block.id,
          name: block.name,
          input: (block.input ?? {}) as JsonObject,
          kind: entry?.kind ?? ToolKind.SANDBOX,
          requiresConfirmation: entry?.requiresConfirmation ?? false,
        },
      });
    }
  }
  const usage = message.usage;
  out.push({
    case: "modelUsage",
    value: {
      model: message.model,
      inputTokens: toInt64(usage.input_tokens),
      outputTokens: toInt64(usage.output_tokens),
      cacheReadInputTokens: toInt64(usage.cache_read_input_tokens ?? 0),
      cacheCreationInputTokens: toInt64(usage.cache_creation_input_tokens ?? 0),
      duration: durationFromMs(durationMs),
    },
  });
  return out;
}
