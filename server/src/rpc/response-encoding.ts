import { toBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { rememberedBytes } from "../protobuf/remembered-bytes.js";
import { varintLength, writeVarint } from "../protobuf/varint.js";

const LENGTH_DELIMITED = 2;

/**
 * The binary form of a response, sending the bytes its message fields remember
 * (remembered-bytes.ts) instead of encoding those messages again: the log's events, whose
 * stored bytes are at hand when they are appended or read, are most of what the server sends.
 *
 * The fields with remembered bytes are taken out of a shallow copy, the copy is encoded as
 * usual, and they follow it, each as its tag, length and bytes. A message is the concatenation
 * of its fields in any order and a repeated field's elements keep theirs, so any protobuf
 * reader decodes the result to the same message; it differs from `toBinary`'s only in the
 * order of fields. A response with nothing remembered is `toBinary`'s.
 */
export function encodeResponse(schema: DescMessage, message: Message): Uint8Array {
  let rest: Record<string, unknown> | undefined;
  let tails: { readonly number: number; readonly bytes: Uint8Array }[] | undefined;
  for (const field of messageFieldsOf(schema)) {
    const taken = takeRemembered(field, message as unknown as Record<string, unknown>);
    if (!taken) continue;
    rest ??= { ...message };
    rest[taken.key] = taken.cleared;
    tails ??= [];
    for (const bytes of taken.bytes) tails.push({ number: field.number, bytes });
  }
  if (!rest || !tails) return toBinary(schema, message);
  const head = toBinary(schema, rest as unknown as Message);
  let length = head.length;
  for (const t of tails) length += varintLength((t.number << 3) | LENGTH_DELIMITED) + varintLength(t.bytes.length) + t.bytes.length;
  const out = new Uint8Array(length);
  out.set(head, 0);
  let pos = head.length;
  for (const t of tails) {
    pos = writeVarint(out, pos, (t.number << 3) | LENGTH_DELIMITED);
    pos = writeVarint(out, pos, t.bytes.length);
    out.set(t.bytes, pos);
    pos += t.bytes.length;
  }
  return out;
}

/** A field's remembered bytes, and what the copy's property becomes without them. */
interface Taken {
  readonly key: string;
  readonly cleared: unknown;
  readonly bytes: readonly Uint8Array[];
}

function takeRemembered(field: DescField, message: Record<string, unknown>): Taken | undefined {
  if (field.fieldKind === "list") {
    const list = message[field.localName] as readonly Message[];
    if (list.length === 0 || !list.some((m) => rememberedBytes(m) !== undefined)) return undefined;
    // Elements without remembered bytes are encoded here, in their place.
    return { key: field.localName, cleared: [], bytes: list.map((m) => rememberedBytes(m) ?? toBinary(field.message!, m)) };
  }
  if (field.oneof) {
    const selected = message[field.oneof.localName] as { case: string | undefined; value?: unknown };
    const bytes = selected.case === field.localName ? rememberedBytes(selected.value) : undefined;
    return bytes ? { key: field.oneof.localName, cleared: { case: undefined }, bytes: [bytes] } : undefined;
  }
  const bytes = rememberedBytes(message[field.localName]);
  return bytes ? { key: field.localName, cleared: undefined, bytes: [bytes] } : undefined;
}

const messageFields = new WeakMap<DescMessage, readonly DescField[]>();

/** The fields of `schema` that hold messages: singular, in a oneof, or repeated. */
function messageFieldsOf(schema: DescMessage): readonly DescField[] {
  let fields = messageFields.get(schema);
  if (!fields) {
    fields = schema.fields.filter((f) => f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message"));
    messageFields.set(schema, fields);
  }
  return fields;
}
