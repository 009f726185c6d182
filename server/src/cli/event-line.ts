import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate, type Duration } from "@bufbuild/protobuf/wkt";
import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import { ConfirmationDecision, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { createColors } from "picocolors";

/** Longest summary printed for one event; the rest is cut with "…". */
export const MAX_SUMMARY_CHARS = 160;

export interface EventLineOptions {
  /** ANSI colours; only when writing to a terminal. */
  readonly color: boolean;
}

/**
 * One event as one line for people: `seq  time  kind  summary`. Newlines inside the
 * event become "⏎" so that `oma events` output stays one event per line.
 */
export function formatEventLine(event: Event, options: EventLineOptions): string {
  const c = createColors(options.color);
  const time = event.createTime ? timestampDate(event.createTime).toISOString().slice(11, 23) : "--:--:--.---";
  const kind = kindName(event);
  const paint = kind.startsWith("user") ? c.cyan : kind === "error" ? c.red : kind === "status_changed" ? c.yellow : kind.startsWith("agent") ? c.green : c.magenta;
  return `${c.dim(`#${event.seq}`.padStart(7))}  ${c.dim(time)}  ${paint(kind.padEnd(19))} ${oneLine(summary(event))}`;
}

function kindName(event: Event): string {
  return (event.payload.case ?? "unknown").replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

function summary(event: Event): string {
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

function oneLine(text: string): string {
  const flat = text.replace(/\r?\n/g, "⏎");
  return flat.length > MAX_SUMMARY_CHARS ? `${flat.slice(0, MAX_SUMMARY_CHARS - 1)}…` : flat;
}
