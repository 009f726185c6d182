import { timestampMs, durationMs, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { LeaseEndReason } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";

/** One model call: what it said, what it cost, how long it took. */
export interface ModelCall {
  readonly kind: "model";
  readonly seq: number;
  readonly time: number;
  readonly model: string;
  readonly durationMs: number | undefined;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
  readonly text: string;
  readonly thinking: string;
  readonly toolCalls: number;
  /** False while the response's model_usage has not arrived. */
  readonly complete: boolean;
}

/** One tool call and, once it came back, its result. */
export interface ToolCall {
  readonly kind: "tool";
  readonly seq: number;
  readonly time: number;
  readonly toolUseId: string;
  readonly name: string;
  readonly input: unknown;
  result?: {
    readonly seq: number;
    readonly output: string;
    readonly isError: boolean;
    readonly truncated: boolean;
    readonly replayed: boolean;
    readonly exitCode: number;
    readonly durationMs: number | undefined;
    readonly sandboxId: string;
    readonly backend: string;
  };
}

export interface ErrorMark {
  readonly kind: "error";
  readonly seq: number;
  readonly time: number;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly attempt: number;
  readonly httpStatus: number;
  readonly retryAfterMs: number | undefined;
}

export interface Note {
  readonly kind: "user" | "brain" | "sandbox" | "status" | "other";
  readonly seq: number;
  readonly time: number;
  readonly text: string;
  /** For status notes: the status; "problem" marks the ones an operator should look at. */
  readonly tone?: "ok" | "problem" | "info";
}

export type TimelineItem = ModelCall | ToolCall | ErrorMark | Note;

/** A turn: from a user's input to the status the brain left the session in. */
export interface Turn {
  readonly index: number;
  readonly firstSeq: number;
  items: TimelineItem[];
  /** Set once the turn ended (IDLE or TERMINATED). */
  end?: { readonly seq: number; readonly status: string; readonly stopReason: string; readonly detail: string };
}

/** Why a brain's hold on the session ended. */
export type BrainEnd =
  | { readonly kind: "released"; readonly seq: number; readonly time: number; readonly stopReason: string }
  | { readonly kind: "lost"; readonly seq: number; readonly time: number; readonly why: string }
  | { readonly kind: "superseded"; readonly seq: number; readonly time: number };

/** One brain that held the session's lease. */
export interface Brain {
  readonly harnessId: string;
  readonly epoch: number;
  readonly workerId: string;
  readonly startSeq: number;
  readonly startTime: number;
  readonly resumedAfterSeq: number;
  /** How the brain came: the first, or a successor after a lost lease. */
  readonly arrival: "started" | "rescheduled";
  end?: BrainEnd;
}

export interface Timeline {
  readonly turns: Turn[];
  readonly brains: Brain[];
  /** sandbox id → backend, from sandbox_provisioned. */
  readonly sandboxes: Map<string, { backend: string; replaces: string; seq: number }>;
  readonly headSeq: number;
  readonly counts: { events: number; modelCalls: number; toolCalls: number; toolErrors: number; inputTokens: number; outputTokens: number; cacheReadTokens: number };
}

const ms = (t: Timestamp | undefined) => (t ? timestampMs(t) : 0);
const dms = (d: Duration | undefined) => (d ? durationMs(d) : undefined);
const statusName = (s: SessionStatus) => (SessionStatus[s] ?? "UNSPECIFIED").toLowerCase();
const stopName = (s: StopReason) => (s ? (StopReason[s] ?? "UNSPECIFIED").toLowerCase() : "");
const leaseEndName = (r: LeaseEndReason) => (LeaseEndReason[r] ?? "UNSPECIFIED").toLowerCase();

/**
 * Builds the timeline of a session from its events, in seq order: turns of model calls,
 * tool calls with their results, errors where they happened, and the brains that held the
 * lease with how each one ended. Pure: the page feeds it the log, the tests a made-up one.
 */
export class TimelineBuilder {
  readonly turns: Turn[] = [];
  readonly brains: Brain[] = [];
  readonly sandboxes = new Map<string, { backend: string; replaces: string; seq: number }>();
  readonly counts = { events: 0, modelCalls: 0, toolCalls: 0, toolErrors: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };
  headSeq = 0;
  readonly #tools = new Map<string, ToolCall>();
  /** Agent events of a response whose model_usage has not come yet. */
  #response: { seq: number; time: number; text: string[]; thinking: string[]; tools: ToolCall[] } | undefined;
  #idle = true;
  #lostBrain: string | undefined;

  add(events: readonly Event[]): void {
    for (const e of events) this.#add(e);
  }

  /** The timeline so far; a response still waiting for its usage shows as incomplete. */
  snapshot(): Timeline {
    return { turns: this.turns, brains: this.brains, sandboxes: this.sandboxes, headSeq: this.headSeq, counts: this.counts };
  }

  #turn(seq: number): Turn {
    let turn = this.turns.at(-1);
    if (!turn) {
      turn = { index: 0, firstSeq: seq, items: [] };
      this.turns.push(turn);
    }
    return turn;
  }

  #push(item: TimelineItem): void {
    this.#turn(item.seq).items.push(item);
  }

  #currentBrain(): Brain | undefined {
    const b = this.brains.at(-1);
    return b && !b.end ? b : undefined;
  }

  #add(e: Event): void {
    const seq = Number(e.seq);
    if (seq <= this.headSeq) return; // a replayed copy
    this.headSeq = seq;
    this.counts.events++;
    const time = ms(e.createTime);
    const p = e.payload;
    if (p.case !== "agentMessage" && p.case !== "agentThinking" && p.case !== "toolUse" && p.case !== "modelUsage") this.#flushResponse(false);
    switch (p.case) {
      case "userMessage": {
        if (this.#idle || this.turns.length === 0) this.turns.push({ index: this.turns.length, firstSeq: seq, items: [] });
        this.#idle = false;
        const text = p.value.content.map((b) => (b.block.case === "text" ? b.block.value.text : `[${b.block.case ?? "block"}]`)).join("\n");
        this.#push({ kind: "user", seq, time, text });
        return;
      }
      case "agentMessage":
      case "agentThinking":
      case "toolUse": {
        const r = (this.#response ??= { seq, time, text: [], thinking: [], tools: [] });
        if (p.case === "agentMessage") r.text.push(p.value.content.map((b) => (b.block.case === "text" ? b.block.value.text : "")).join(""));
        else if (p.case === "agentThinking") r.thinking.push(p.value.thinking);
        else {
          const call: ToolCall = { kind: "tool", seq, time, toolUseId: p.value.toolUseId, name: p.value.name, input: p.value.input ?? {} };
          r.tools.push(call);
          this.#tools.set(call.toolUseId, call);
        }
        return;
      }
      case "modelUsage": {
        const u = p.value;
        this.counts.inputTokens += Number(u.inputTokens);
        this.counts.outputTokens += Number(u.outputTokens);
        this.counts.cacheReadTokens += Number(u.cacheReadInputTokens);
        this.#flushResponse(true, { model: u.model, durationMs: dms(u.duration), inputTokens: Number(u.inputTokens), outputTokens: Number(u.outputTokens), cacheReadTokens: Number(u.cacheReadInputTokens), cacheCreationTokens: Number(u.cacheCreationInputTokens) }, seq, time);
        return;
      }
      case "toolResult": {
        const r = p.value;
        const call = this.#tools.get(r.toolUseId);
        const result = {
          seq,
          output: r.output,
          isError: r.isError,
          truncated: r.truncated,
          replayed: r.replayed,
          exitCode: r.exitCode,
          durationMs: dms(r.duration),
          sandboxId: r.sandboxId,
          backend: this.sandboxes.get(r.sandboxId)?.backend ?? "",
        };
        if (r.isError) this.counts.toolErrors++;
        if (call) call.result = result;
        else this.#push({ kind: "other", seq, time, text: `tool result for unknown call ${r.toolUseId}`, tone: "problem" });
        return;
      }
      case "harnessStarted": {
        const previous = this.#currentBrain();
        if (previous) previous.end = { kind: "superseded", seq, time };
        const v = p.value;
        const arrival = this.#lostBrain !== undefined ? "rescheduled" : "started";
        this.#lostBrain = undefined;
        this.brains.push({ harnessId: v.harnessId, epoch: Number(v.leaseEpoch), workerId: v.workerId, startSeq: seq, startTime: time, resumedAfterSeq: Number(v.resumedAfterSeq), arrival });
        this.#push({ kind: "brain", seq, time, text: `brain ${v.harnessId} (epoch ${v.leaseEpoch}) on worker ${v.workerId || "?"} ${arrival === "rescheduled" ? "took over" : "started"}, after seq ${v.resumedAfterSeq}`, tone: arrival === "rescheduled" ? "problem" : "info" });
        return;
      }
      case "sandboxProvisioned": {
        const v = p.value;
        this.sandboxes.set(v.sandboxId, { backend: v.backend, replaces: v.replacesSandboxId, seq });
        this.#push({ kind: "sandbox", seq, time, text: v.replacesSandboxId ? `sandbox ${v.sandboxId} (${v.backend}) replaces lost ${v.replacesSandboxId}` : `sandbox ${v.sandboxId} (${v.backend}) provisioned`, tone: v.replacesSandboxId ? "problem" : "info" });
        return;
      }
      case "statusChanged": {
        const v = p.value;
        const status = statusName(v.status);
        const stop = stopName(v.stopReason);
        if (v.status === SessionStatus.RESCHEDULING) {
          const ended = v.endedLease;
          const brain = ended ? this.brains.find((b) => b.harnessId === ended.harnessId && !b.end) : this.#currentBrain();
          const why = ended ? leaseEndName(ended.reason) : "unknown";
          if (brain) brain.end = { kind: "lost", seq, time, why };
          this.#lostBrain = ended?.harnessId ?? brain?.harnessId ?? "";
          const who = ended ? `brain ${ended.harnessId} (epoch ${ended.leaseEpoch}, worker ${ended.workerId || "?"})` : "the brain";
          this.#push({ kind: "status", seq, time, text: `lease lost: ${who} ${why === "expired" ? "stopped renewing its lease" : `ended its lease (${why})`}; rescheduling`, tone: "problem" });
          return;
        }
        if (v.status === SessionStatus.IDLE || v.status === SessionStatus.TERMINATED) {
          const brain = this.#currentBrain();
          if (brain) brain.end = { kind: "released", seq, time, stopReason: stop };
          this.#idle = true;
          const turn = this.#turn(seq);
          turn.end = { seq, status, stopReason: stop, detail: v.detail };
          const problem = v.stopReason === StopReason.ERROR || v.stopReason === StopReason.RETRIES_EXHAUSTED || v.stopReason === StopReason.MAX_STEPS || v.stopReason === StopReason.MAX_TOKENS;
          this.#push({ kind: "status", seq, time, text: `${status}${stop ? ` (${stop})` : ""}${v.detail ? `: ${v.detail}` : ""}`, tone: problem ? "problem" : "ok" });
          return;
        }
        this.#push({ kind: "status", seq, time, text: status, tone: "info" });
        return;
      }
      case "error": {
        const v = p.value;
        this.#push({ kind: "error", seq, time, code: v.code, message: v.message, retryable: v.retryable, attempt: v.attempt, httpStatus: v.httpStatus, retryAfterMs: dms(v.retryAfter) });
        return;
      }
      case "userInterrupt":
        this.#push({ kind: "user", seq, time, text: `interrupt${p.value.reason ? `: ${p.value.reason}` : ""}` });
        return;
      default:
        this.#push({ kind: "other", seq, time, text: p.case ?? "event" });
    }
  }

  #flushResponse(complete: boolean, usage?: { model: string; durationMs: number | undefined; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number }, seq?: number, time?: number): void {
    const r = this.#response;
    if (!r && !usage) return;
    this.#response = undefined;
    this.counts.modelCalls++;
    this.counts.toolCalls += r?.tools.length ?? 0;
    this.#push({
      kind: "model",
      seq: r?.seq ?? seq!,
      time: r?.time ?? time!,
      model: usage?.model ?? "",
      durationMs: usage?.durationMs,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      cacheReadTokens: usage?.cacheReadTokens ?? 0,
      cacheCreationTokens: usage?.cacheCreationTokens ?? 0,
      text: r?.text.join("\n") ?? "",
      thinking: r?.thinking.join("\n") ?? "",
      toolCalls: r?.tools.length ?? 0,
      complete,
    });
    for (const call of r?.tools ?? []) this.#push(call);
  }
}

/** The timeline of a whole log. */
export function buildTimeline(events: readonly Event[]): Timeline {
  const b = new TimelineBuilder();
  b.add(events);
  return b.snapshot();
}
