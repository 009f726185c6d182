import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";

export type EventInit = MessageInitShape<typeof EventSchema>;

/** A user_message event with one text block. */
export function userText(text: string): EventInit {
  return { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } } };
}

/** A custom event carrying `data` (any JSON object). */
export function customEvent(type: string, data: Record<string, unknown>): EventInit {
  return { payload: { case: "custom", value: { type, data: data as never } } };
}

/** A status_changed event. */
export function statusChanged(status: SessionStatus, stopReason = StopReason.UNSPECIFIED): EventInit {
  return { payload: { case: "statusChanged", value: { status, stopReason } } };
}

/** The text of a user_message event, or undefined for other payloads. */
export function textOf(event: { payload: { case: string | undefined; value?: unknown } }): string | undefined {
  if (event.payload.case !== "userMessage") return undefined;
  const msg = event.payload.value as { content: { block: { case: string | undefined; value?: { text?: string } } }[] };
  const block = msg.content[0]?.block;
  return block?.case === "text" ? block.value?.text : undefined;
}
