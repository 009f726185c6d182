import type { Message } from "@bufbuild/protobuf";

const BYTES = Symbol("oma.rememberedBytes");

/** What a message holds under BYTES: the bytes, and the message they are the bytes of. */
interface Remembered {
  readonly owner: object;
  readonly bytes: Uint8Array;
}

/**
 * A message's binary form, kept on the message by code that already holds it, so that an
 * encoder can send those bytes instead of encoding the message again (response-encoding.ts).
 * The log does this for every event it stores or reads: it has the stored bytes at hand, and
 * events are most of what the server sends (acks, slices, watches).
 *
 * The contract: a message given its bytes is not changed afterwards; the log's events never
 * are. A copy made by spreading it (which may then differ) carries the property along, but
 * not as its own: the record names the message it belongs to. (A plain property costs a
 * fraction of a non-enumerable one, which showed in a profile of streamed appends.)
 * protobuf-es, which walks fields by descriptor, never sees it.
 */
export function rememberBytes<T extends Message>(message: T, bytes: Uint8Array): T {
  (message as unknown as { [BYTES]: Remembered })[BYTES] = { owner: message, bytes };
  return message;
}

/** The bytes remembered on `message`, if any. */
export function rememberedBytes(message: unknown): Uint8Array | undefined {
  const remembered = (message as { [BYTES]?: Remembered } | undefined)?.[BYTES];
  return remembered !== undefined && remembered.owner === message ? remembered.bytes : undefined;
}
