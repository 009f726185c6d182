import type { Timeline } from "./build-timeline.js";

/** One line of the answer to "harness bug, lost sandbox, model error or dead brain?". */
export interface Finding {
  readonly area: "model" | "sandbox" | "brain" | "harness" | "tool";
  readonly severity: "problem" | "note";
  readonly text: string;
  /** The seq to jump to. */
  readonly seq: number;
}

const HARNESS_CODES = new Set(["BRAIN_ERROR", "CONTEXT_EXHAUSTED"]);

/** What went wrong in a session, by part, each finding pointing at the event that shows it. */
export function diagnose(t: Timeline): Finding[] {
  const findings: Finding[] = [];
  const modelErrors = new Map<string, { count: number; retried: number; seq: number }>();
  for (const turn of t.turns) {
    for (const item of turn.items) {
      if (item.kind === "error") {
        if (HARNESS_CODES.has(item.code)) {
          findings.push({ area: "harness", severity: "problem", text: `${item.code}: ${item.message}`, seq: item.seq });
        } else if (item.code === "SANDBOX_LOST") {
          findings.push({ area: "sandbox", severity: "problem", text: `sandbox lost: ${item.message}`, seq: item.seq });
        } else {
          const entry = modelErrors.get(item.code) ?? { count: 0, retried: 0, seq: item.seq };
          entry.count++;
          if (item.retryable) entry.retried++;
          modelErrors.set(item.code, entry);
        }
      }
    }
    if (turn.end && (turn.end.stopReason === "retries_exhausted" || turn.end.stopReason === "error")) {
      findings.push({ area: turn.end.stopReason === "retries_exhausted" ? "model" : "harness", severity: "problem", text: `turn ${turn.index + 1} ended ${turn.end.stopReason}${turn.end.detail ? `: ${turn.end.detail}` : ""}`, seq: turn.end.seq });
    }
  }
  for (const [code, e] of modelErrors) {
    findings.push({ area: "model", severity: e.retried === e.count ? "note" : "problem", text: `model: ${e.count} failed call${e.count === 1 ? "" : "s"} (${code})${e.retried ? `, ${e.retried} retried` : ""}`, seq: e.seq });
  }
  for (const [id, s] of t.sandboxes) {
    if (s.replaces) findings.push({ area: "sandbox", severity: "problem", text: `sandbox ${s.replaces} was lost; ${id} (${s.backend}) replaced it`, seq: s.seq });
  }
  for (const b of t.brains) {
    if (b.end?.kind === "lost") findings.push({ area: "brain", severity: "problem", text: `brain ${b.harnessId} (epoch ${b.epoch}, worker ${b.workerId || "?"}) lost its lease (${b.end.why}); a successor took over`, seq: b.end.seq });
    if (b.end?.kind === "superseded") findings.push({ area: "brain", severity: "problem", text: `brain ${b.harnessId} (epoch ${b.epoch}) was replaced without ending its turn`, seq: b.end.seq });
  }
  if (t.counts.toolErrors > 0) findings.push({ area: "tool", severity: "note", text: `${t.counts.toolErrors} tool call${t.counts.toolErrors === 1 ? "" : "s"} returned an error to the model`, seq: 0 });
  return findings.sort((a, b) => (a.severity === b.severity ? a.seq - b.seq : a.severity === "problem" ? -1 : 1));
}
