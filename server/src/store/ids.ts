import { randomFillSync } from "node:crypto";

/** Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one per id. */
const pool = Buffer.alloc(4096);
let used = pool.length;

/** A server-assigned id with its type prefix (WIRE-8): `ses_…`, `evt_…`; 128 random bits. */
export function newId(prefix: "ses" | "evt"): string {
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString("hex", used, used + 16);
  used += 16;
  return `${prefix}_${id}`;
}
