import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AgentConfigSchema } from "@oma/client/gen/oma/v1/session_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { CaseSkipped, check } from "../../runner/assertions.js";
import type { Responder } from "../../scripted-model/index.js";
import { userText } from "../events.js";
import { watch } from "../watch.js";
import { S } from "../session/session-helpers.js";

export const H = HarnessService.method;

/**
 * A session whose agent model name is unique to the case, with the scripted model
 * answering that name with `responder`.
 */
export async function scriptedSession(ctx: CaseContext, responder: Responder, agent: Omit<MessageInitShape<typeof AgentConfigSchema>, "model"> = {}): Promise<{ sessionId: string; model: string }> {
  const harness = ctx.harness;
  if (!harness) throw new CaseSkipped("no scripted model (run with --target-cmd)");
  const model = ctx.uniqueId("model");
  harness.script(model, responder);
  const sessionId = ctx.uniqueId("harn");
  await ctx.rpc.unary(S.createSession, { sessionId, agent: { ...agent, model } as MessageInitShape<typeof AgentConfigSchema> });
  return { sessionId, model };
}

/** Appends a user message and returns its seq. */
export async function say(ctx: CaseContext, sessionId: string, text: string): Promise<number> {
  const res = await ctx.rpc.unary(S.emitEvent, { sessionId, event: userText(text) });
  return Number(res.event?.seq ?? 0);
}

const isIdleAfter = (e: Event) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.IDLE;

/** Watches from `afterSeq` until the brain leaves the session IDLE; returns the events of the turn. */
export async function untilIdle(ctx: CaseContext, sessionId: string, afterSeq: number, withinMs = 30_000): Promise<Event[]> {
  const log = await watch(ctx, sessionId, { afterSeq, withinMs, until: (l) => l.events.some(isIdleAfter) });
  return log.events;
}

/** The events of one payload kind. */
export function ofKind<K extends NonNullable<Event["payload"]["case"]>>(events: readonly Event[], kind: K): Extract<Event["payload"], { case: K }>["value"][] {
  return events.filter((e) => e.payload.case === kind).map((e) => e.payload.value as never);
}

/** The last status_changed of the events. */
export function lastStatus(events: readonly Event[]) {
  const s = ofKind(events, "statusChanged").at(-1);
  check(s, "no status_changed event in the turn");
  return s;
}

export const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });
export const toolCall = (name: string, input: Record<string, unknown>) => ({ content: [{ type: "tool_use" as const, name, input }] });
