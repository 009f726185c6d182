import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import type { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { invalidField } from "../errors/oma-error.js";
import { nonNegative, optionalId, optionalIdempotencyKey, structDepth } from "../rpc/field-rules.js";
import type { Validators } from "../rpc/handlers.js";
import { resolveResources, validateLabels } from "./resources.js";
import { sandboxBounds } from "./sandbox-manager.js";
import { checkId } from "./sandbox-ids.js";
import { validateToolInput } from "./tools.js";

/** RenewSandbox TTLs: 1 s to 24 h. */
export const RENEW_TTL_MIN_MS = 1_000;
export const RENEW_TTL_MAX_MS = 24 * 3_600_000;

/** A Duration field's milliseconds within [min, max], INVALID_FIELD otherwise. */
function durationWithin(d: Duration, min: number, max: number, field: string, exclusiveMin = false): void {
  const ms = durationMs(d);
  if (d.nanos < 0 || d.nanos > 999_999_999 || !(exclusiveMin ? ms > min : ms >= min) || ms > max) {
    throw invalidField(field, "range", `must be ${exclusiveMin ? "more than" : "at least"} ${min} ms and at most ${max} ms`, { value_ms: ms });
  }
}

/** The rules of every SandboxService request (SBX-*, WIRE-5, WIRE-8). */
export function sandboxValidators(deps: { maxStructDepth: number }): Validators<typeof SandboxService> {
  const call = (req: { sandboxId: string; name: string; input?: unknown; timeout?: Duration; idempotencyKey: string }) => {
    checkId(req.sandboxId);
    // Depth first: the schema check walks the input.
    if (req.input) structDepth(req.input, deps.maxStructDepth, "input");
    validateToolInput(req.name, req.input ?? {});
    if (req.timeout) durationWithin(req.timeout, 0, sandboxBounds.maxTimeoutMs, "timeout", true);
    optionalIdempotencyKey(req.idempotencyKey);
  };
  return {
    provision(req) {
      resolveResources(req.resources, "", "resources");
      validateLabels(req.labels);
      optionalId(req.sessionId, "session_id");
    },
    execute: (req) => call(req),
    executeStream(req) {
      call(req);
      nonNegative(req.resumeOffset, "resume_offset");
    },
    listTools: () => undefined,
    getSandbox: (req) => checkId(req.sandboxId),
    listSandboxes: (req) => void optionalId(req.sessionId, "session_id"),
    destroySandbox: (req) => checkId(req.sandboxId),
    renewSandbox(req) {
      checkId(req.sandboxId);
      if (req.ttl) durationWithin(req.ttl, RENEW_TTL_MIN_MS, RENEW_TTL_MAX_MS, "ttl");
    },
  };
}
