/**
 * Protobuf's base-128 varints, written into a caller's buffer: for the few fields the server
 * encodes by hand around bytes it already has (an event's server fields, a response's
 * remembered messages), where a protobuf-es writer's fixed cost per message is most of the work.
 */

/**
 * Writes an int64, uint64 or int32 value as protobuf's varint at `at` (a negative one as its
 * 64-bit two's complement, ten bytes); returns the position after it. Values a double holds
 * exactly, every seq, time and length in practice, take the cheaper path of number arithmetic.
 */
export function writeVarint(into: Uint8Array, at: number, value: bigint | number): number {
  let pos = at;
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    let rest = Number(value);
    while (rest > 0x7f) {
      into[pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    into[pos++] = rest;
    return pos;
  }
  let rest = BigInt.asUintN(64, BigInt(value));
  while (rest > 0x7fn) {
    into[pos++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  into[pos++] = Number(rest);
  return pos;
}

/** Bytes `writeVarint` writes for the value. */
export function varintLength(value: bigint | number): number {
  if (value < 0) return 10;
  let length = 1;
  if (value <= Number.MAX_SAFE_INTEGER) {
    for (let rest = Number(value); rest > 0x7f; rest = Math.floor(rest / 0x80)) length++;
  } else {
    for (let rest = BigInt(value); rest > 0x7fn; rest >>= 7n) length++;
  }
  return length;
}

/**
 * Reads a varint at `at` whose value a double holds exactly (tags and lengths): its value and
 * the position after it, or undefined when the bytes end first or the value is wider.
 */
export function readVarint(from: Uint8Array, at: number): { value: number; end: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let pos = at; pos < from.length && pos < at + 8; pos++) {
    const byte = from[pos]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? { value, end: pos + 1 } : undefined;
    scale *= 0x80;
  }
  return undefined;
}
