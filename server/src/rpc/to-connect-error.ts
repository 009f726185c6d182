import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema } from "@oma/client/gen/google/rpc/error_details_pb.js";
import { OmaError } from "../errors/oma-error.js";
import { ERROR_DOMAIN, reasonCodes } from "../errors/reason-codes.js";

type OutgoingDetail = { desc: DescMessage; value: MessageInitShape<DescMessage> };

/** Logs an unexpected error's cause on the server; never sent to the client. */
export type InternalErrorLogger = (err: unknown, context: { procedure: string }) => void;

/**
 * Turns anything a handler threw into a ConnectError carrying an ErrorInfo detail
 * (domain `oma.dev`, the reason, metadata) and, for field errors, a BadRequest detail.
 * Unexpected errors become INTERNAL with a generic message; the cause is only logged.
 */
export function toConnectError(err: unknown, procedure: string, logInternal: InternalErrorLogger): ConnectError {
  if (err instanceof OmaError) {
    const details: OutgoingDetail[] = [
      { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: err.reason, domain: ERROR_DOMAIN, metadata: { ...err.metadata } }) },
    ];
    const field = err.field;
    if (field !== undefined) {
      details.push({
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: [{ field, description: err.message, reason: err.metadata["constraint"] ?? err.reason }],
        }),
      });
    }
    return new ConnectError(err.message, reasonCodes[err.reason] as Code, undefined, details, err);
  }
  if (err instanceof ConnectError) {
    return err; // Already a status (e.g. cancellation, deadline) from the framework.
  }
  logInternal(err, { procedure });
  return new ConnectError("internal error", Code.Internal, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "INTERNAL", domain: ERROR_DOMAIN, metadata: { procedure } }) },
  ]);
}
