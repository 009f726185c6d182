import { toBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { eventBytes } from "../store/event-bytes.js";

/** The fields of a message type that hold events (single, repeated or in a oneof). */
const eventFieldsOf = new WeakMap<DescMessage, readonly DescField[]>();

function eventFields(schema: DescMessage): readonly DescField[] {
  let fields = eventFieldsOf.get(schema);
  if (!fields) {
    fields = schema.fields.filter((f) => (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) && f.message.typeName === EventSchema.typeName);
    eventFieldsOf.set(schema, fields);
  }
  return fields;
}

/**
 * A response's binary encoding, with every event in it written from the bytes the server
 * already has for it (store/event-bytes.ts) instead of encoded again: the rest of the
 * message by `toBinary`, then each event field. Protobuf decoders take fields in any order
 * (repeated ones keep theirs), so the bytes decode to the same message.
 */
export function encodeMessage(schema: DescMessage, message: Message): Uint8Array {
  const fields = eventFields(schema);
  if (fields.length === 0) return toBinary(schema, message);
  const rest: Record<string, unknown> = { ...message };
  const writer = new BinaryWriter();
  for (const field of fields) {
    const events = eventsIn(message as unknown as Record<string, unknown>, field);
    if (events.length === 0) continue;
    if (field.oneof) rest[field.oneof.localName] = { case: undefined };
    else rest[field.localName] = field.fieldKind === "list" ? [] : undefined;
    for (const event of events) writer.tag(field.number, WireType.LengthDelimited).bytes(eventBytes(event));
  }
  const head = toBinary(schema, rest as unknown as Message);
  const tail = writer.finish();
  if (tail.length === 0) return head;
  const bytes = new Uint8Array(head.length + tail.length);
  bytes.set(head);
  bytes.set(tail, head.length);
  return bytes;
}

function eventsIn(message: Record<string, unknown>, field: DescField): readonly Event[] {
  if (field.oneof) {
    const chosen = message[field.oneof.localName] as { case?: string; value?: Event };
    return chosen.case === field.localName && chosen.value ? [chosen.value] : [];
  }
  const value = message[field.localName] as Event | Event[] | undefined;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
