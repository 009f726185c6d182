import type { MessagesRequestBody, RecordedRequest, Responder, ScriptedResponse } from "./types.js";

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

/** The tool_result blocks of the last user message of a request. */
export function lastToolResults(body: MessagesRequestBody): { tool_use_id: string; content: unknown; is_error: boolean }[] {
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== "user" || typeof last.content === "string") return [];
  return last.content
    .filter((b) => b["type"] === "tool_result")
    .map((b) => ({ tool_use_id: String(b["tool_use_id"]), content: b["content"], is_error: b["is_error"] === true }));
}
