import { randomBytes } from "node:crypto";

/** A server-assigned id with its type prefix (WIRE-8): `ses_…`, `evt_…`; 128 random bits. */
export function newId(prefix: "ses" | "evt"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}
