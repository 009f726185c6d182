import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import type { EventInit } from "../events.js";
import { userText } from "../events.js";

/** Encoded size of an event as the client sends it (payload only). */
export function encodedSize(event: EventInit): number {
  return toBinary(EventSchema, create(EventSchema, event)).length;
}

/**
 * A user message whose encoded Event is exactly `bytes` long. Length prefixes are varints,
 * so the text length is adjusted until the total lands on the target.
 */
export function userTextOfSize(bytes: number, fill = "x"): EventInit {
  let n = Math.max(0, bytes - 16);
  for (let i = 0; i < 16; i++) {
    const size = encodedSize(userText(fill.repeat(n)));
    if (size === bytes) return userText(fill.repeat(n));
    n += bytes - size;
    if (n < 0) break;
  }
  throw new Error(`cannot build a user message of exactly ${bytes} encoded bytes`);
}
