import { ErrorReason } from "@oma/client/gen/oma/v1/error_reason_pb.js";

/** The wire name of a reason: the enum value's name without its `ERROR_REASON_` prefix. */
export type ReasonName = Exclude<keyof typeof ErrorReason, "UNSPECIFIED">;

/** Dynamic values that explain an error; every value is sent as a string. */
export type ErrorMetadata = Record<string, string | number | boolean | bigint | undefined>;

/**
 * The one domain error of OMA. Domain code (stores, backends, the brain loop) throws it
 * with a stable reason and the dynamic values; the RPC edge turns it into a gRPC status
 * with an ErrorInfo detail (see rpc/to-connect-error.ts). The gRPC code follows from the
 * reason (errors/reason-codes.ts), so one reason always means one code.
 */
export class OmaError extends Error {
  override readonly name = "OmaError";
  readonly reason: ReasonName;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(reason: ReasonName, message: string, metadata: ErrorMetadata = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (value !== undefined) flat[key] = String(value);
    }
    this.metadata = flat;
  }

  /** The request field at fault, if the error is about one. */
  get field(): string | undefined {
    return this.metadata["field"];
  }
}

/** INVALID_ARGUMENT / INVALID_FIELD naming the field (proto path) and the rule it broke. */
export function invalidField(field: string, constraint: string, message: string, metadata: ErrorMetadata = {}): OmaError {
  return new OmaError("INVALID_FIELD", `${field}: ${message}`, { ...metadata, field, constraint });
}

export function isOmaError(err: unknown, reason?: ReasonName): err is OmaError {
  return err instanceof OmaError && (reason === undefined || err.reason === reason);
}
