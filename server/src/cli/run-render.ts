import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { createColors } from "picocolors";

/** Lines of a tool's output shown under its call; the rest is folded. */
export const FOLDED_OUTPUT_LINES = 4;

/** What `oma run` prints for one event, or undefined for events it does not show. */
export function renderRunEvent(event: Event, color: boolean): string | undefined {
  const c = createColors(color);
  const p = event.payload;
  switch (p.case) {
    case "agentMessage":
      return p.value.content.map((b) => (b.block.case === "text" ? b.block.value.text : "[image]")).join("\n");
    case "agentThinking":
      return c.dim(c.italic(`✻ ${p.value.thinking}`));
    case "toolUse":
      return `${c.cyan("⏺")} ${c.bold(p.value.name)}${c.dim(`(${JSON.stringify(p.value.input ?? {})})`)}${p.value.requiresConfirmation ? c.yellow(" [needs confirmation]") : ""}`;
    case "toolResult": {
      const lines = p.value.output.replace(/\n$/, "").split("\n");
      const shown = lines.slice(0, FOLDED_OUTPUT_LINES).map((l) => `  ${c.dim("│")} ${p.value.isError ? c.red(l) : c.dim(l)}`);
      if (lines.length > FOLDED_OUTPUT_LINES) shown.push(`  ${c.dim(`│ … ${lines.length - FOLDED_OUTPUT_LINES} more lines`)}`);
      return shown.join("\n");
    }
    case "sandboxProvisioned":
      return c.dim(`  sandbox ${p.value.sandboxId} (${p.value.backend})${p.value.replacesSandboxId ? ` replaces ${p.value.replacesSandboxId}` : ""}`);
    case "contextCompacted": {
      const what = p.value.strategy === ContextStrategy.COMPACT ? "summarised" : "cleared tool results of";
      return c.dim(`  context: ${what} events up to #${p.value.throughSeq}, ${p.value.tokensBefore} → ${p.value.tokensAfter} input tokens`);
    }
    case "error":
      return c.red(`  ${p.value.code}: ${p.value.message}${p.value.retryable ? ` (attempt ${p.value.attempt}, retrying)` : ""}`);
    case "statusChanged":
      if (p.value.status === SessionStatus.IDLE && p.value.stopReason !== StopReason.END_TURN) {
        return c.yellow(`■ stopped: ${StopReason[p.value.stopReason]}${p.value.detail ? ` — ${p.value.detail}` : ""}`);
      }
      return undefined;
    default:
      return undefined;
  }
}

/** True for the event that ends a `oma run`: the session went IDLE (or was terminated). */
export function endsRun(event: Event): boolean {
  const p = event.payload;
  return p.case === "statusChanged" && (p.value.status === SessionStatus.IDLE || p.value.status === SessionStatus.TERMINATED);
}
