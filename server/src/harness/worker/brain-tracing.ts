import type { ToolUse } from "@oma/client/gen/oma/v1/event_pb.js";
import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import { ATTR_SESSION_ID, ATTR_SESSION_SEQ, contextFromCarrier, inSpan, withSession } from "../../telemetry/tracing.js";
import { callModel, type ModelOutcome } from "./model-call.js";
import type { ToolOutcome } from "./hands.js";

// OpenTelemetry GenAI semantic conventions (v1.37+). They are still "development", so the
// names are kept here as the conventions advise rather than imported from the incubating entry.
const GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
const GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
const GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id";
const GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
const GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
const GEN_AI_RESPONSE_ID = "gen_ai.response.id";
const GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
const GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
const GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
const GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens";
const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens";
const GEN_AI_TOOL_NAME = "gen_ai.tool.name";
const GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id";
const GEN_AI_TOOL_TYPE = "gen_ai.tool.type";
const ERROR_TYPE = "error.type";
const PROVIDER = "anthropic";

/**
 * Where a brain is in its trace: the context its next span and its next RPC continue. The
 * worker runs without a context manager (no AsyncLocalStorage tracking every promise of
 * every brain), so each brain carries its own: `traceBrain` points it at the brain's span,
 * `tracedToolCall` at the tool's while the tool runs (a brain runs its tools one at a
 * time), and the brain's RPC client sends it (`traceContextInterceptor(() => cursor.context)`).
 */
export interface TraceCursor {
  context: Context;
}

/** A cursor at the root: nothing traced yet. */
export const newTraceCursor = (): TraceCursor => ({ context: ROOT_CONTEXT });

/** Where in a session a span's work happens. */
export interface SessionPoint {
  readonly sessionId: string;
  /** The log position: the head the brain read, or the event the work answers. */
  readonly seq: number;
}

/**
 * Runs a brain inside an `invoke_agent` span, child of the trace context its assignment
 * carries (the Wake that started it). The brain's RPCs carry its context but no baggage:
 * each of them names its session, and the server's span takes the session from the
 * request. A tool's call, which names only its sandbox, carries the session in its baggage
 * (`tracedToolCall`).
 */
export function traceBrain<T>(
  a: { readonly sessionId: string; readonly harnessId: string; readonly epoch: number; readonly workerId: string; readonly traceContext: Readonly<Record<string, string>> },
  cursor: TraceCursor,
  run: () => Promise<T>,
): Promise<T> {
  const parent = contextFromCarrier(a.traceContext);
  const attributes = {
    [GEN_AI_OPERATION_NAME]: "invoke_agent",
    [GEN_AI_PROVIDER_NAME]: PROVIDER,
    [GEN_AI_CONVERSATION_ID]: a.sessionId,
    [ATTR_SESSION_ID]: a.sessionId,
    "oma.harness.id": a.harnessId,
    "oma.lease.epoch": a.epoch,
    "oma.worker.id": a.workerId,
  };
  return inSpan("invoke_agent", { attributes }, async (span, ctx) => {
    cursor.context = ctx;
    const end = await run();
    span.setAttribute("oma.brain.end", typeof end === "number" ? (StopReason[end] ?? String(end)) : String(end));
    return end;
  }, parent);
}

/**
 * `callModel` as a `chat {model}` CLIENT span with the GenAI attributes of the request and its
 * outcome, and an event for each failed attempt. Nothing nests under it and its context goes
 * nowhere (the Messages API SDK makes no spans of its own here); like every OMA span it is
 * made once it has ended (late-span.ts), so none of the SDK's work is on the way to the model.
 */
export function tracedModelCall(at: SessionPoint, cursor: TraceCursor, deps: Parameters<typeof callModel>[0]): Promise<ModelOutcome> {
  const attributes = {
    [GEN_AI_OPERATION_NAME]: "chat",
    [GEN_AI_PROVIDER_NAME]: PROVIDER,
    [GEN_AI_CONVERSATION_ID]: at.sessionId,
    [GEN_AI_REQUEST_MODEL]: deps.model,
    [GEN_AI_REQUEST_MAX_TOKENS]: deps.maxTokens,
    [ATTR_SESSION_ID]: at.sessionId,
    [ATTR_SESSION_SEQ]: at.seq,
    ...serverOf(deps.client.baseURL),
  };
  return inSpan(`chat ${deps.model}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const outcome = await callModel({
      ...deps,
      onFailedAttempt: (failure, attempt, retryIn) => {
        span.addEvent("model_attempt_failed", { attempt, [ERROR_TYPE]: failure.code, "http.response.status_code": failure.httpStatus ?? 0, "oma.retry_in_ms": retryIn ?? -1 });
        return deps.onFailedAttempt(failure, attempt, retryIn);
      },
    });
    recordOutcome(span, outcome);
    return outcome;
  }, cursor.context);
}

function recordOutcome(span: Span, outcome: ModelOutcome): void {
  if (outcome.kind === "failed") {
    span.setAttribute(ERROR_TYPE, outcome.failure.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure.message });
    return;
  }
  const m = outcome.message;
  const u = m.usage;
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheCreation = u.cache_creation_input_tokens ?? 0;
  span.setAttributes({
    [GEN_AI_RESPONSE_ID]: m.id,
    [GEN_AI_RESPONSE_MODEL]: m.model,
    [GEN_AI_RESPONSE_FINISH_REASONS]: [m.stop_reason ?? "unknown"],
    // The conventions count cached tokens in the input; the cache figures say how many.
    [GEN_AI_USAGE_INPUT_TOKENS]: u.input_tokens + cacheRead + cacheCreation,
    [GEN_AI_USAGE_OUTPUT_TOKENS]: u.output_tokens,
    [GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: cacheRead,
    [GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: cacheCreation,
  });
}

/** A sandbox tool call inside an `execute_tool {name}` span; the server's Execute span nests under it. */
export function tracedToolCall(at: SessionPoint, cursor: TraceCursor, toolUse: ToolUse, run: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  const attributes = {
    [GEN_AI_OPERATION_NAME]: "execute_tool",
    [GEN_AI_TOOL_NAME]: toolUse.name,
    [GEN_AI_TOOL_CALL_ID]: toolUse.toolUseId,
    // Run by the agent's side (in its sandbox), not by the client: "extension" in the conventions.
    [GEN_AI_TOOL_TYPE]: "extension",
    [GEN_AI_CONVERSATION_ID]: at.sessionId,
    [ATTR_SESSION_ID]: at.sessionId,
    [ATTR_SESSION_SEQ]: at.seq,
  };
  const outer = cursor.context;
  return inSpan(`execute_tool ${toolUse.name}`, { attributes }, async (span, ctx) => {
    cursor.context = ctx; // the tool's RPCs (the sandbox's Execute) nest under its span
    try {
      const outcome = await run();
      span.setAttributes({ "oma.sandbox.id": outcome.sandboxId, "oma.tool.is_error": outcome.isError, "oma.tool.replayed": outcome.replayed });
      if (outcome.isError) span.setAttribute(ERROR_TYPE, "tool_error");
      return outcome;
    } finally {
      cursor.context = outer;
    }
  }, withSession(outer, at.sessionId, at.seq));
}

/** server.address and server.port of each Messages API endpoint, worked out once (a worker has one). */
const servers = new Map<string, Readonly<Record<string, string | number>>>();

/** server.address and server.port of the Messages API endpoint. */
function serverOf(baseUrl: string): Readonly<Record<string, string | number>> {
  let server = servers.get(baseUrl);
  if (!server) {
    try {
      const url = new URL(baseUrl);
      server = { "server.address": url.hostname, "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)) };
    } catch {
      server = {};
    }
    servers.set(baseUrl, server);
  }
  return server;
}
