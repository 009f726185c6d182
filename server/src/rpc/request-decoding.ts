import { fromBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { rememberBytes } from "../protobuf/remembered-bytes.js";

/**
 * A decoder of requests that has each message of the `kinds` given, where it sits directly in
 * a field of the request, remember the bytes it arrived as (remembered-bytes.ts): an appended
 * event's received form is then what its size check counts and the log stores
 * (store/event-bytes.ts), instead of a new encoding of it.
 *
 * Only kinds whose messages nothing changes after decoding belong in `kinds`: events, which
 * the server only reads. A field that occurs more than once for one message (which a reader
 * merges) remembers nothing, nor does a request with groups.
 */
export function rememberingDecoder(kinds: readonly DescMessage[]): (schema: DescMessage, bytes: Uint8Array) => Message {
  const names = new Set(kinds.map((k) => k.typeName));
  const plans = new WeakMap<DescMessage, ReadonlyMap<number, DescField>>();
  return (schema, bytes) => {
    const message = fromBinary(schema, bytes);
    let fields = plans.get(schema);
    if (!fields) plans.set(schema, (fields = fieldsHolding(schema, names)));
    if (fields.size > 0) rememberReceived(message as unknown as Record<string, unknown>, bytes, fields);
    return message;
  };
}

function rememberReceived(message: Record<string, unknown>, bytes: Uint8Array, fields: ReadonlyMap<number, DescField>): void {
  const occurrences = new Map<number, Uint8Array[]>();
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (wireType === WireType.StartGroup || wireType === WireType.EndGroup) return;
    if (wireType !== WireType.LengthDelimited || !fields.has(number)) {
      reader.skip(wireType, number);
      continue;
    }
    const length = reader.uint32();
    const start = reader.pos;
    reader.pos += length;
    let list = occurrences.get(number);
    if (!list) occurrences.set(number, (list = []));
    list.push(bytes.subarray(start, start + length));
  }
  for (const [number, received] of occurrences) {
    const field = fields.get(number)!;
    if (field.fieldKind === "list") {
      const values = message[field.localName] as Message[];
      if (values.length === received.length) values.forEach((value, i) => rememberBytes(value, received[i]!));
    } else if (received.length === 1) {
      const oneof = field.oneof ? (message[field.oneof.localName] as { case?: string; value?: Message }) : undefined;
      const decoded = oneof ? (oneof.case === field.localName ? oneof.value : undefined) : (message[field.localName] as Message | undefined);
      if (decoded) rememberBytes(decoded, received[0]!);
    }
  }
}

/** The fields of `schema`, by number, that hold messages of the kinds named. */
function fieldsHolding(schema: DescMessage, names: ReadonlySet<string>): ReadonlyMap<number, DescField> {
  const kind = (f: DescField) => (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message") ? f.message?.typeName : undefined);
  return new Map(schema.fields.filter((f) => names.has(kind(f) ?? "")).map((f) => [f.number, f]));
}
