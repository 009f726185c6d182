import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { ConfirmationDecision, EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { ServerLimits } from "../limits.js";
import { knownEnum } from "./validate-request.js";

/** CustomEvent.type: 1–128 bytes. */
export const MAX_CUSTOM_TYPE_BYTES = 128;

/**
 * Checks a batch before anything is written (SESS-4, SESS-6, SESS-7) and returns the events
 * reduced to their payloads: seq, id and create_time are the server's to assign.
 * `path(i)` names event i in field paths ("event" or "events[i]").
 */
export function validateEvents(input: readonly (Event | undefined)[], limits: ServerLimits, path: (i: number) => string): Event[] {
  if (input.length > limits.maxBatchEvents) {
    throw new OmaError("BATCH_TOO_LARGE", `at most ${limits.maxBatchEvents} events per batch`, { count: input.length, limit_count: limits.maxBatchEvents, field: "events" });
  }
  let total = 0;
  return input.map((event, i) => {
    if (!event) throw invalidField(path(i), "required", "is required");
    const stripped = create(EventSchema, { payload: event.payload });
    validatePayload(stripped, path(i));
    requireJson(stripped, path(i));
    const size = toBinary(EventSchema, stripped).length;
    if (size > limits.maxEventBytes) {
      throw new OmaError("EVENT_TOO_LARGE", `event ${i} is ${size} bytes, more than ${limits.maxEventBytes}`, {
        size_bytes: size, limit_bytes: limits.maxEventBytes, index: i, field: path(i),
      });
    }
    total += size;
    if (total > limits.maxBatchBytes) {
      throw new OmaError("BATCH_TOO_LARGE", `batch exceeds ${limits.maxBatchBytes} bytes`, { size_bytes: total, limit_bytes: limits.maxBatchBytes, index: i, field: "events" });
    }
    return stripped;
  });
}

function validatePayload(event: Event, at: string): void {
  const p = event.payload;
  switch (p.case) {
    case undefined:
      throw invalidField(`${at}.payload`, "required", "an event needs exactly one payload");
    case "userMessage":
      return requireContent(p.value.content, `${at}.user_message.content`);
    case "agentMessage":
      return requireContent(p.value.content, `${at}.agent_message.content`);
    case "statusChanged":
      if (p.value.status === SessionStatus.UNSPECIFIED) throw invalidField(`${at}.status_changed.status`, "required", "must name a status");
      knownEnum(p.value.status, SessionStatus, `${at}.status_changed.status`);
      return;
    case "toolConfirmation":
      requireText(p.value.toolUseId, `${at}.tool_confirmation.tool_use_id`);
      if (p.value.decision === ConfirmationDecision.UNSPECIFIED) throw invalidField(`${at}.tool_confirmation.decision`, "required", "must allow or deny");
      knownEnum(p.value.decision, ConfirmationDecision, `${at}.tool_confirmation.decision`);
      return;
    case "customToolResult":
      return requireText(p.value.toolUseId, `${at}.custom_tool_result.tool_use_id`);
    case "toolUse":
      return requireText(p.value.toolUseId, `${at}.tool_use.tool_use_id`);
    case "toolResult":
      return requireText(p.value.toolUseId, `${at}.tool_result.tool_use_id`);
    case "custom":
      requireText(p.value.type, `${at}.custom.type`);
      if (Buffer.byteLength(p.value.type) > MAX_CUSTOM_TYPE_BYTES) {
        throw invalidField(`${at}.custom.type`, "max_bytes", `at most ${MAX_CUSTOM_TYPE_BYTES} bytes`, { limit: MAX_CUSTOM_TYPE_BYTES });
      }
      return;
    default:
      return;
  }
}

/**
 * Every event must have a protobuf JSON form: Connect JSON clients, the brain's model
 * messages and the idempotency fingerprint all read it so. Binary protobuf can carry what
 * JSON cannot, such as a NaN or infinite number in a Struct.
 */
function requireJson(event: Event, at: string): void {
  try {
    toJson(EventSchema, event);
  } catch (err) {
    throw invalidField(`${at}.payload`, "json", `must have a protobuf JSON form: ${(err as Error).message}`);
  }
}

function requireContent(content: readonly ContentBlock[], field: string): void {
  if (content.length === 0) throw invalidField(field, "required", "a message needs at least one content block");
  content.forEach((block, i) => {
    if (block.block.case === undefined) throw invalidField(`${field}[${i}]`, "required", "a content block needs text or an image");
  });
}

function requireText(value: string, field: string): void {
  if (value === "") throw invalidField(field, "required", "is required");
}
