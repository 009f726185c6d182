import { Code, ConnectError } from "@connectrpc/connect";
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
