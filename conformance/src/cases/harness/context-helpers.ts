import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { EventOrder } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { ContextStrategy, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { CaseSkipped } from "../../runner/assertions.js";
import { promptTokens, stepOf, type RecordedRequest, type Responder, type ScriptedResponse } from "../../scripted-model/index.js";
import { readAll } from "../session/session-helpers.js";
import { H, ofKind, say } from "./harness-helpers.js";
import { S } from "../session/session-helpers.js";

/**
 * The window of the scripted model in the context cases, and the agent's budget within
 * it: small enough that a few dozen tool calls of 600 characters each outgrow it.
 */
export const WINDOW = 8_000;
export const MAX_INPUT = 6_000;
export const TARGET = 3_000;

/** Tool calls the model asks for at once in each step of a long session (parallel tool use). */
export const CALLS = 3;

/** Step n of a long session: CALLS bash calls, each printing 600 characters that name it (`step-n-i`). */
export const printStep = (n: number): ScriptedResponse => ({
  content: Array.from({ length: CALLS }, (_, i) => ({ type: "tool_use" as const, name: "bash", input: { command: `yes step-${n}-${i} 2>/dev/null | head -c 600` } })),
});

/**
 * A session of the case's own model, with `bash` as its only named tool and the given
 * context strategy, the scripted model holding it to WINDOW; the user asks and it is woken.
 */
export async function contextSession(ctx: CaseContext, strategy: ContextStrategy, responder: Responder): Promise<{ sessionId: string; model: string; at: number }> {
  const harness = ctx.harness;
  if (!harness) throw new CaseSkipped("no scripted model (run with --target-cmd)");
  const model = ctx.uniqueId("model");
  harness.script(model, responder, { contextWindow: WINDOW });
  const sessionId = ctx.uniqueId("ctx");
  await ctx.rpc.unary(S.createSession, {
    sessionId,
    agent: {
      model,
      maxTurnSteps: 500,
      tools: [{ name: "bash", kind: ToolKind.SANDBOX }],
      context: { strategy, maxInputTokens: MAX_INPUT, targetInputTokens: TARGET },
    },
  });
  const at = await say(ctx, sessionId, "work through the steps");
  await ctx.rpc.unary(H.wake, { sessionId });
  return { sessionId, model, at };
}

/** The context events of a log, with their seqs. */
export function contextEvents(events: readonly Event[]) {
  return events.flatMap((e) => (e.payload.case === "contextCompacted" ? [{ seq: Number(e.seq), ...e.payload.value }] : []));
}

/** Requests of the model that asked for a step (not a summary). */
export function stepRequests(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => typeof stepOf(r.body) === "number");
}

/** The largest prompt among the requests, in the scripted model's tokens. */
export function largestPrompt(requests: readonly RecordedRequest[]): number {
  return Math.max(0, ...requests.map((r) => promptTokens(r.body)));
}

/** The tool results of a log, in order. */
export async function toolResults(ctx: CaseContext, sessionId: string) {
  return ofKind(await readAll(ctx, sessionId), "toolResult");
}

/**
 * The newest (up to 1000) events of a session, oldest first, read backwards from the head:
 * a slice no brain reads when it resumes, so what it shows does not depend on the slices
 * a brain reads.
 */
export async function newestEvents(ctx: CaseContext, sessionId: string): Promise<Event[]> {
  const res = await ctx.rpc.unary(S.getEvents, { sessionId, limit: 1000, order: EventOrder.DESCENDING });
  return [...res.events].reverse();
}

/** A promise with its resolver, to hold a scripted answer until the case lets it go. */
export function deferred(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

/** The protocol's snake_case name of an event's payload kind, as session_history prints it. */
export function kindName(event: Event): string {
  return (event.payload.case ?? "").replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

/** The `#seq kind` entries of a session_history output (HARN-23), in order. */
export function listedEvents(output: string): { seq: number; kind: string; line: string }[] {
  return output.split("\n").flatMap((line) => {
    const m = /^#(\d+) ([a-z_]+)(?: |$)/.exec(line);
    return m ? [{ seq: Number(m[1]), kind: m[2]!, line }] : [];
  });
}

export const strategyName = (s: ContextStrategy) => ContextStrategy[s];
