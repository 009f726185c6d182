import { createHash, randomBytes } from "node:crypto";
import { canonicalJson } from "../canonical-json.js";
import { invalidField, OmaError } from "../errors/oma-error.js";

/** A sandbox id: "sbx_" and 128 random bits in hex. */
export const SANDBOX_ID = /^sbx_[0-9a-f]{32}$/;

export function newSandboxId(): string {
  return `sbx_${randomBytes(16).toString("hex")}`;
}

export function checkId(sandboxId: string): void {
  if (!SANDBOX_ID.test(sandboxId)) throw invalidField("sandbox_id", "format", 'must be "sbx_" and 32 hex digits');
}

export function keyReused(sandboxId: string, key: string): OmaError {
  return new OmaError("IDEMPOTENCY_KEY_REUSED", "this idempotency key was used for another tool call", { sandbox_id: sandboxId, idempotency_key: key });
}

/** Name and input with keys sorted: the identity of a call for its idempotency key. */
export function fingerprintOf(name: string, input: unknown): string {
  return createHash("sha256").update(canonicalJson([name, input])).digest("hex");
}
