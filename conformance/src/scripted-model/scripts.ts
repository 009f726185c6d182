import type { MessagesRequestBody, RecordedRequest, Responder, ScriptedBlock, ScriptedResponse } from "./types.js";

/** How many assistant turns the conversation in a request already has. */
export function assistantTurns(body: MessagesRequestBody): number {
  return body.messages.filter((m) => m.role === "assistant").length;
}

/**
 * A responder that answers by position in the conversation: step n (the number of
 * assistant messages already in the request) gets `steps[n]`. A brain that crashes and
 * asks again gets the same answer, and any number of sessions can share one server.
 * Past the last step it ends the turn with `done`.
 */
export function byStep(
  steps: readonly (ScriptedResponse | ((request: RecordedRequest) => ScriptedResponse))[],
  done: ScriptedResponse = { content: [{ type: "text", text: "Done." }] },
): Responder {
  return (request) => {
    const step = steps[assistantTurns(request.body)];
    if (step === undefined) return done;
    return typeof step === "function" ? step(request) : step;
  };
}

/** The text of the last user message of a request (its text blocks joined). */
export function lastUserText(body: MessagesRequestBody): string {
  const last = [...body.messages].reverse().find((m) => m.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return last.content
    .filter((b) => b["type"] === "text")
    .map((b) => String(b["text"]))
    .join("\n");
}

/**
 * The text of the first user message of a request: the conversation's opening prompt,
 * which a script shared by many sessions can use to tell them apart.
 */
export function firstUserText(body: MessagesRequestBody): string {
  return lastUserText({ ...body, messages: body.messages.slice(0, 1) });
}

/** The tool_result blocks of the last user message of a request. */
export function lastToolResults(body: MessagesRequestBody): { tool_use_id: string; content: unknown; is_error: boolean }[] {
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== "user" || typeof last.content === "string") return [];
  return last.content
    .filter((b) => b["type"] === "tool_result")
    .map((b) => ({ tool_use_id: String(b["tool_use_id"]), content: b["content"], is_error: b["is_error"] === true }));
}

/** The tool_use id `bySteps` gives the i-th tool call of step n. */
export function stepToolUseId(step: number, i = 0): string {
  return `toolu_step${step}_${i}`;
}

const STEP_ID = /^toolu_step(\d+)_\d+$/;

/**
 * True for a request that asks the model to summarise rather than to take the next step:
 * it offers no tools or forbids them (`tool_choice` none), or its conversation already has
 * assistant turns and ends with a user text block rather than a tool result.
 */
export function isSummaryRequest(body: MessagesRequestBody): boolean {
  const choice = body["tool_choice"] as { type?: string } | undefined;
  if (choice?.type === "none" || !body.tools || body.tools.length === 0) return true;
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== "user" || !body.messages.some((m) => m.role === "assistant")) return false;
  if (typeof last.content === "string") return true;
  return last.content[last.content.length - 1]?.["type"] === "text";
}

/**
 * The step a request asks for under `bySteps`: one more than the highest step whose tool
 * call the last user message answers; 0 for a conversation without assistant turns;
 * "summary" for a summarising request; undefined for anything else.
 */
export function stepOf(body: MessagesRequestBody): number | "summary" | undefined {
  if (isSummaryRequest(body)) return "summary";
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== "user") return undefined;
  if (!body.messages.some((m) => m.role === "assistant")) return 0;
  if (typeof last.content === "string") return undefined;
  let highest = -1;
  for (const block of last.content) {
    const match = block["type"] === "tool_result" ? STEP_ID.exec(String(block["tool_use_id"])) : null;
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest >= 0 ? highest + 1 : undefined;
}

/**
 * A responder for sessions of any length, whose prompt a brain may clear or compact: the
 * step comes from the tool_use ids the last tool results answer (`stepToolUseId`), not
 * from the number of turns in the request, which compaction changes. Step n (0 ≤ n <
 * `steps`) gets `step(n)` with its tool calls given the ids of step n; a summarising
 * request (`isSummaryRequest`) gets `summary`; past the last step, or for a request it
 * cannot place, it ends the turn with `done`. A brain that asks again after a crash gets
 * the same answer.
 */
export function bySteps(options: {
  readonly steps: number;
  readonly step: (n: number, request: RecordedRequest) => ScriptedResponse;
  readonly summary?: (request: RecordedRequest) => ScriptedResponse;
  readonly done?: ScriptedResponse;
}): Responder {
  const done = options.done ?? { content: [{ type: "text", text: "Done." }] };
  const summary = options.summary ?? ((request) => ({ content: [{ type: "text", text: `Summary of the work so far (request ${request.index}).` }] }));
  return (request) => {
    const n = stepOf(request.body);
    if (n === "summary") return summary(request);
    if (n === undefined || n >= options.steps) return done;
    const response = options.step(n, request);
    if (response.kind === "error" || response.kind === "disconnect") return response;
    let i = 0;
    const content = response.content.map((b): ScriptedBlock => (b.type === "tool_use" ? { ...b, id: b.id ?? stepToolUseId(n, i++) } : b));
    return { ...response, content };
  };
}
