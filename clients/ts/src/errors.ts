import { Code, ConnectError } from "@connectrpc/connect";
type OutgoingDetail = ConstructorParameters<typeof ConnectError>[3] extends (infer D)[] | undefined ? D : never;
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/** The reason detail an OMA server attaches to every error it returns. */
export interface OmaErrorInfo {
  /** The gRPC status code. */
  code: Code;
  /** UPPER_SNAKE reason from `oma.v1.ErrorReason` without its prefix, e.g. `LEASE_LOST`. */
  reason: string;
  /** Error domain, `oma.dev` for OMA reasons. */
  domain: string;
  /** Dynamic values of the error (ids, seqs, limits, the offending `field`). */
  metadata: Record<string, string>;
  /** The request field at fault, when there is one. */
  field: string | undefined;
  /** The server's message. */
  message: string;
}

/** Reads the OMA error detail of anything a client call threw; undefined if it is not an RPC error. */
export function omaErrorInfo(err: unknown): OmaErrorInfo | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  const info = err.findDetails(ErrorInfoSchema)[0];
  const badRequest = err.findDetails(BadRequestSchema)[0];
  const metadata = { ...(info?.metadata ?? {}) };
  return {
    code: err.code,
    reason: info?.reason ?? "",
    domain: info?.domain ?? "",
    metadata,
    field: metadata["field"] ?? badRequest?.fieldViolations[0]?.field,
    message: err.rawMessage,
  };
}

/** The reason of an RPC error, or "" when it has none. */
export function reasonOf(err: unknown): string {
  return omaErrorInfo(err)?.reason ?? "";
}

/**
 * An RPC error with its OMA reason read out (WIRE-3). It is a ConnectError, so code that
 * checks `instanceof ConnectError` or calls `findDetails` keeps working; the clients made
 * by `createOmaClient` throw it for every failed call and stream.
 */
export class OmaRpcError extends ConnectError {
  /** UPPER_SNAKE reason (`LEASE_LOST`), or "" when the error carries none (e.g. a transport fault). */
  readonly reason: string;
  /** The ErrorInfo domain, `oma.dev` for OMA reasons. */
  readonly domain: string;
  /** Every dynamic value of the error, from ErrorInfo.metadata. */
  readonly errorMetadata: Readonly<Record<string, string>>;
  /** The request field at fault, when there is one. */
  readonly field: string | undefined;

  constructor(source: ConnectError) {
    // Incoming details are kept as they came; findDetails reads both kinds.
    super(source.rawMessage, source.code, source.metadata, source.details as OutgoingDetail[], source.cause);
    // ConnectError's cross-copy instanceof check looks at the name, so it stays "ConnectError".
    this.name = "ConnectError";
    const info = omaErrorInfo(source);
    this.reason = info?.reason ?? "";
    this.domain = info?.domain ?? "";
    this.errorMetadata = info?.metadata ?? {};
    this.field = info?.field;
  }

  // ConnectError answers instanceof by shape; this subclass answers by prototype chain, so
  // a plain ConnectError is not mistaken for one with `reason` filled in.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Wraps anything thrown by a call into an OmaRpcError when it is an RPC error; other values pass through. */
export function toOmaRpcError(err: unknown): unknown {
  if (err instanceof OmaRpcError) return err;
  if (err instanceof ConnectError) return new OmaRpcError(err);
  return err;
}
