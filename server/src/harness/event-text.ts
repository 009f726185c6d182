import type { JsonObject } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import { ConfirmationDecision, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";

/** The payload kind in the protocol's snake_case: `tool_result`, `context_compacted`. */
export function eventKind(event: Event): string {
  return (event.payload.case ?? "unknown").replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

/**
 * What an event says, as text for people and for the model (the `session_history` tool),
 * in full: messages and outputs verbatim, system events as their fields.
 */
export function eventText(event: Event): string {
  const p = event.payload;
  switch (p.case) {
    case "userMessage":
      return content(p.value.content);
    case "agentMessage":
      return content(p.value.content);
    case "agentThinking":
      return p.value.thinking;
    case "userInterrupt":
      return p.value.reason;
    case "toolConfirmation":
      return `${p.value.decision === ConfirmationDecision.ALLOW ? "allow" : "deny"} ${p.value.toolUseId}${p.value.denyMessage ? `: ${p.value.denyMessage}` : ""}`;
    case "customToolResult":
      return `${p.value.toolUseId}${p.value.isError ? " (error)" : ""} → ${p.value.output}`;
    case "toolUse":
      return `${p.value.name}(${struct(p.value.input)})${p.value.requiresConfirmation ? " [needs confirmation]" : ""} ${p.value.toolUseId}`;
    case "toolResult":
      return `${p.value.toolUseId}${p.value.isError ? " (error)" : ""}${p.value.truncated ? " (truncated)" : ""}${p.value.replayed ? " (replayed)" : ""} → ${p.value.output}`;
    case "statusChanged": {
      const reason = p.value.stopReason === StopReason.UNSPECIFIED ? "" : ` (${enumName(StopReason, p.value.stopReason)})`;
      return `${enumName(SessionStatus, p.value.status)}${reason}${p.value.detail ? ` ${p.value.detail}` : ""}`;
    }
    case "harnessStarted":
      return `harness ${p.value.harnessId} epoch ${p.value.leaseEpoch} after seq ${p.value.resumedAfterSeq}${p.value.workerId ? ` on ${p.value.workerId}` : ""}`;
    case "sandboxProvisioned":
      return `${p.value.sandboxId} (${p.value.backend})${p.value.replacesSandboxId ? ` replaces ${p.value.replacesSandboxId}` : ""}`;
    case "modelUsage":
      return `${p.value.model} in=${p.value.inputTokens} out=${p.value.outputTokens} cache_read=${p.value.cacheReadInputTokens} cache_write=${p.value.cacheCreationInputTokens}${duration(p.value.duration)}`;
    case "contextCompacted":
      return `${enumName(ContextStrategy, p.value.strategy)} through #${p.value.throughSeq}: ${p.value.tokensBefore} → ${p.value.tokensAfter} tokens${duration(p.value.duration)}${p.value.summary ? ` ${p.value.summary}` : ""}`;
    case "error":
      return `${p.value.code} ${p.value.message}${p.value.attempt ? ` (attempt ${p.value.attempt}${p.value.retryable ? ", will retry" : ""})` : ""}`;
    case "custom":
      return `${p.value.type} ${struct(p.value.data)}`;
    case undefined:
      return "";
  }
}

function content(blocks: readonly ContentBlock[]): string {
  return blocks.map((b) => (b.block.case === "text" ? b.block.value.text : b.block.case === "image" ? "[image]" : "")).join(" ");
}

function struct(value: JsonObject | undefined): string {
  return JSON.stringify(value ?? {});
}

function duration(d: Duration | undefined): string {
  return d ? ` ${Math.round(Number(d.seconds) * 1000 + d.nanos / 1e6)}ms` : "";
}

function enumName(e: Record<string, string | number>, value: number): string {
  const name = e[value];
  return typeof name === "string" ? name.toLowerCase() : String(value);
}
