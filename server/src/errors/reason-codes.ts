import type { ReasonName } from "./oma-error.js";

/**
 * gRPC status code of every reason (numeric values of google.rpc.Code, which are also
 * connect's `Code` values). One reason, one code: SPEC.md §Errors lists the same table.
 */
export const reasonCodes: Readonly<Record<ReasonName, number>> = {
  INVALID_FIELD: 3, // INVALID_ARGUMENT
  SESSION_NOT_FOUND: 5, // NOT_FOUND
  SESSION_EXISTS: 6, // ALREADY_EXISTS
  SESSION_TERMINATED: 9, // FAILED_PRECONDITION
  HEAD_SEQ_MISMATCH: 9,
  LEASE_LOST: 9,
  LEASE_HELD: 9,
  EVENT_TOO_LARGE: 3,
  BATCH_TOO_LARGE: 3,
  IDEMPOTENCY_KEY_REUSED: 9,
  INVALID_PAGE_TOKEN: 3,
  SEQ_OUT_OF_RANGE: 11, // OUT_OF_RANGE
  WATCHER_TOO_SLOW: 8, // RESOURCE_EXHAUSTED
  SANDBOX_NOT_FOUND: 5,
  SANDBOX_LOST: 14, // UNAVAILABLE
  TOOL_NOT_FOUND: 5,
  INVALID_TOOL_INPUT: 3,
  BACKEND_UNAVAILABLE: 14,
  EXECUTION_NOT_FOUND: 5,
  UNAUTHENTICATED: 16, // UNAUTHENTICATED
  PERMISSION_DENIED: 7, // PERMISSION_DENIED
  LIMIT_REACHED: 8,
  HARNESS_NOT_FOUND: 5,
  INTERNAL: 13, // INTERNAL
  TOKEN_NOT_FOUND: 5,
};

export const ERROR_DOMAIN = "oma.dev";
