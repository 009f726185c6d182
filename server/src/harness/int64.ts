import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";

/** The generated type of the protocol's int64 fields (seq, epoch, token counts). */
export type Int64 = Event["seq"];

/** A seq, epoch or count as a protocol int64 field. */
export function toInt64(n: number): Int64 {
  return BigInt(Math.trunc(n)) as Int64;
}

/** A protocol int64 as a JS number (seqs and epochs stay far below 2^53). */
export function fromInt64(v: Int64 | number): number {
  return Number(v);
}
