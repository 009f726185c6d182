/** gRPC status code names by number (google.rpc.Code); Connect codes use the same numbers. */
export const codeNames: readonly string[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

export type CodeName = (typeof codeNames)[number];

/** The number of a gRPC status code name. */
export function codeNumber(name: string): number {
  const n = codeNames.indexOf(name);
  if (n < 0) throw new Error(`unknown gRPC code ${name}`);
  return n;
}

/**
 * A failed RPC, the same shape whichever protocol carried it: the gRPC code, the
 * ErrorInfo reason/domain/metadata and the BadRequest field violations.
 */
export class RpcFailure extends Error {
  override readonly name = "RpcFailure";
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly domain: string,
    readonly metadata: Readonly<Record<string, string>>,
    readonly badRequestFields: readonly string[],
  ) {
    super(message);
  }

  get codeName(): string {
    return codeNames[this.code] ?? `CODE_${this.code}`;
  }

  /** The request field at fault: ErrorInfo metadata `field`, else the first BadRequest violation. */
  get field(): string | undefined {
    return this.metadata["field"] ?? this.badRequestFields[0];
  }

  describe(): string {
    const field = this.field === undefined ? "" : ` field=${this.field}`;
    return `${this.codeName}/${this.reason || "<no reason>"}${field} (${this.message})`;
  }
}
