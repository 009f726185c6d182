import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ConfirmationDecision, EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ContentBlock } from "@oma/client/gen/oma/v1/content_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { ServerLimits } from "../limits.js";
import { payloadBytes } from "../store/event-bytes.js";
import { knownEnum, maxBytes, nonNegative, optionalId, requireId, structDepth } from "../rpc/field-rules.js";

/** CustomEvent.type: 1–128 bytes. */
export const MAX_CUSTOM_TYPE_BYTES = 128;
/** A user's reason or deny message: at most 4 KiB. */
export const MAX_NOTE_BYTES = 4096;
/** ImageBlock.media_type (content.proto). */
export const IMAGE_MEDIA_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A batch that passed `validateEvents`: its events reduced to their payloads, and each one's binary form. */
export interface CheckedEvents {
  readonly events: Event[];
  /** `payloadBytes` of each event, as the size check made it; the log stores them (store/event-bytes.ts). */
  readonly encoded: Uint8Array[];
  /** `payloadJson` of each event, as the JSON check made it; the idempotency fingerprint is taken over them (store/event-hash.ts). */
  readonly json: JsonValue[];
}

/**
 * Checks a batch before anything is written (SESS-4, SESS-6, SESS-7) and returns the events
 * reduced to their payloads (seq, id and create_time are the server's to assign) with the
 * encoding its size check and the JSON form its JSON check made of each. `path(i)` names
 * event i in field paths ("event" or "events[i]").
 */
export function validateEvents(input: readonly (Event | undefined)[], limits: ServerLimits, path: (i: number) => string): CheckedEvents {
  if (input.length > limits.maxBatchEvents) {
    throw new OmaError("BATCH_TOO_LARGE", `at most ${limits.maxBatchEvents} events per batch`, { count: input.length, limit_count: limits.maxBatchEvents, field: "events" });
  }
  let total = 0;
  const encoded: Uint8Array[] = [];
  const json: JsonValue[] = [];
  const events = input.map((event, i) => {
    if (!event) throw invalidField(path(i), "required", "is required");
    const stripped = create(EventSchema, { payload: event.payload });
    validatePayload(stripped, path(i), limits.maxStructDepth);
    json.push(requireJson(stripped, path(i)));
    const bytes = payloadBytes(event);
    encoded.push(bytes);
    const size = bytes.length;
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
  return { events, encoded, json };
}

function validatePayload(event: Event, at: string, maxStructDepth: number): void {
  const p = event.payload;
  switch (p.case) {
    case undefined:
      throw invalidField(`${at}.payload`, "required", "an event needs exactly one payload");
    case "userMessage":
      return requireContent(p.value.content, `${at}.user_message.content`);
    case "userInterrupt":
      return maxBytes(p.value.reason, MAX_NOTE_BYTES, `${at}.user_interrupt.reason`);
    case "agentMessage":
      requireContent(p.value.content, `${at}.agent_message.content`);
      optionalId(p.value.modelMessageId, `${at}.agent_message.model_message_id`);
      return;
    case "statusChanged":
      if (p.value.status === SessionStatus.UNSPECIFIED) throw invalidField(`${at}.status_changed.status`, "required", "must name a status");
      knownEnum(p.value.status, SessionStatus, `${at}.status_changed.status`);
      knownEnum(p.value.stopReason, StopReason, `${at}.status_changed.stop_reason`);
      return;
    case "toolConfirmation":
      requireId(p.value.toolUseId, `${at}.tool_confirmation.tool_use_id`);
      if (p.value.decision === ConfirmationDecision.UNSPECIFIED) throw invalidField(`${at}.tool_confirmation.decision`, "required", "must allow or deny");
      knownEnum(p.value.decision, ConfirmationDecision, `${at}.tool_confirmation.decision`);
      maxBytes(p.value.denyMessage, MAX_NOTE_BYTES, `${at}.tool_confirmation.deny_message`);
      return;
    case "customToolResult":
      return void requireId(p.value.toolUseId, `${at}.custom_tool_result.tool_use_id`);
    case "toolUse":
      requireId(p.value.toolUseId, `${at}.tool_use.tool_use_id`);
      if (!TOOL_NAME.test(p.value.name)) throw invalidField(`${at}.tool_use.name`, "tool_name", "must match [a-zA-Z0-9_-]{1,64}");
      knownEnum(p.value.kind, ToolKind, `${at}.tool_use.kind`);
      if (p.value.input) structDepth(p.value.input, maxStructDepth, `${at}.tool_use.input`);
      return;
    case "toolResult":
      requireId(p.value.toolUseId, `${at}.tool_result.tool_use_id`);
      optionalId(p.value.sandboxId, `${at}.tool_result.sandbox_id`);
      return;
    case "harnessStarted":
      requireId(p.value.harnessId, `${at}.harness_started.harness_id`);
      optionalId(p.value.workerId, `${at}.harness_started.worker_id`);
      nonNegative(p.value.leaseEpoch, `${at}.harness_started.lease_epoch`);
      nonNegative(p.value.resumedAfterSeq, `${at}.harness_started.resumed_after_seq`);
      return;
    case "sandboxProvisioned":
      requireId(p.value.sandboxId, `${at}.sandbox_provisioned.sandbox_id`);
      optionalId(p.value.replacesSandboxId, `${at}.sandbox_provisioned.replaces_sandbox_id`);
      return;
    case "modelUsage":
      for (const [name, value] of [
        ["input_tokens", p.value.inputTokens],
        ["output_tokens", p.value.outputTokens],
        ["cache_read_input_tokens", p.value.cacheReadInputTokens],
        ["cache_creation_input_tokens", p.value.cacheCreationInputTokens],
      ] as const) {
        nonNegative(value, `${at}.model_usage.${name}`);
      }
      return;
    case "custom":
      if (p.value.type === "") throw invalidField(`${at}.custom.type`, "required", "is required");
      maxBytes(p.value.type, MAX_CUSTOM_TYPE_BYTES, `${at}.custom.type`);
      if (p.value.data) structDepth(p.value.data, maxStructDepth, `${at}.custom.data`);
      return;
    default:
      return;
  }
}

/**
 * Every event must have a protobuf JSON form: Connect JSON clients, the brain's model
 * messages and the idempotency fingerprint all read it so. Binary protobuf can carry what
 * JSON cannot, such as a NaN or infinite number in a Struct. Returns that form.
 */
function requireJson(event: Event, at: string): JsonValue {
  try {
    return toJson(EventSchema, event);
  } catch (err) {
    throw invalidField(`${at}.payload`, "json", `must have a protobuf JSON form: ${(err as Error).message}`);
  }
}

/** content.proto: at least one block; each exactly one of text (not empty) or image (data with a known media type, or an https URL). */
function requireContent(content: readonly ContentBlock[], field: string): void {
  if (content.length === 0) throw invalidField(field, "required", "a message needs at least one content block");
  content.forEach((block, i) => {
    const at = `${field}[${i}]`;
    const b = block.block;
    if (b.case === undefined) throw invalidField(at, "required", "a content block needs text or an image");
    if (b.case === "text") {
      if (b.value.text === "") throw invalidField(`${at}.text.text`, "required", "a text block must not be empty");
      return;
    }
    const image = b.value;
    const hasData = image.data.byteLength > 0;
    const hasUrl = image.url !== "";
    if (hasData === hasUrl) throw invalidField(`${at}.image`, "one_of", "an image needs exactly one of data and url");
    if (image.mediaType !== "" && !IMAGE_MEDIA_TYPES.includes(image.mediaType)) {
      throw invalidField(`${at}.image.media_type`, "media_type", `must be one of ${IMAGE_MEDIA_TYPES.join(", ")}`);
    }
    if (hasData && image.mediaType === "") throw invalidField(`${at}.image.media_type`, "required", "inline image data needs its media type");
    if (hasUrl) {
      let url: URL | undefined;
      try {
        url = new URL(image.url);
      } catch {
        url = undefined;
      }
      if (!url || url.protocol !== "https:") throw invalidField(`${at}.image.url`, "https_url", "must be an https URL");
    }
  });
}
