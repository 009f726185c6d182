import type { InputUsage } from "./prompt-cache.js";
import type { ScriptedBlock, ScriptedError, ScriptedMessage } from "./types.js";

/** One server-sent event of a streamed Messages API response. */
export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** The `type` of the API's error body for an HTTP status. */
export function errorTypeFor(status: number): string {
  if (status === 400) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  return "api_error";
}

export function errorBody(error: ScriptedError): Record<string, unknown> {
  return {
    type: "error",
    error: { type: error.errorType ?? errorTypeFor(error.status), message: error.message ?? `scripted ${error.status}` },
  };
}

export function stopReasonOf(message: ScriptedMessage): string {
  return message.stopReason ?? (message.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
}

export function outputTokensOf(message: ScriptedMessage): number {
  return message.outputTokens ?? Math.max(1, Math.ceil(JSON.stringify(message.content).length / 4));
}

/** Tool-use ids are made deterministic from the message id so every run is the same. */
function finalBlock(block: ScriptedBlock, messageId: string, index: number): Record<string, unknown> {
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text };
    case "thinking":
      return { type: "thinking", thinking: block.thinking, signature: block.signature ?? `sig_${messageId}_${index}` };
    case "tool_use":
      return { type: "tool_use", id: block.id ?? `toolu_${messageId.replace(/^msg_/, "")}_${index}`, name: block.name, input: block.input };
  }
}

/** The non-streaming response body. */
export function messageBody(message: ScriptedMessage, id: string, model: string, usage: InputUsage): Record<string, unknown> {
  return {
    id,
    type: "message",
    role: "assistant",
    model: message.model ?? model,
    content: message.content.map((b, i) => finalBlock(b, id, i)),
    stop_reason: stopReasonOf(message),
    stop_sequence: null,
    usage: { ...usage, output_tokens: outputTokensOf(message) },
  };
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/** The streamed response, event by event, as the Messages API sends it. */
export function streamEvents(message: ScriptedMessage, id: string, model: string, usage: InputUsage): SseEvent[] {
  const size = message.chunkChars ?? 16;
  const events: SseEvent[] = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id,
          type: "message",
          role: "assistant",
          model: message.model ?? model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      },
    },
    { event: "ping", data: { type: "ping" } },
  ];
  message.content.forEach((block, index) => {
    const final = finalBlock(block, id, index);
    const delta = (d: Record<string, unknown>) => events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: d } });
    if (block.type === "text") {
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "text", text: "" } } });
      for (const c of chunks(block.text, size)) delta({ type: "text_delta", text: c });
    } else if (block.type === "thinking") {
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } } });
      for (const c of chunks(block.thinking, size)) delta({ type: "thinking_delta", thinking: c });
      delta({ type: "signature_delta", signature: final["signature"] });
    } else {
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "tool_use", id: final["id"], name: block.name, input: {} } },
      });
      for (const c of chunks(JSON.stringify(block.input), size)) delta({ type: "input_json_delta", partial_json: c });
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  events.push({
    event: "message_delta",
    data: { type: "message_delta", delta: { stop_reason: stopReasonOf(message), stop_sequence: null }, usage: { output_tokens: outputTokensOf(message) } },
  });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return events;
}
