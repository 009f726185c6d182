import type { ServerHttp2Stream, OutgoingHttpHeaders } from "node:http2";
import { Metadata, type StatusObject, type status as Status } from "@grpc/grpc-js";
import { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { malformedRequest, requestTooLarge } from "./framework-errors.js";

const DETAILS = "grpc-status-details-bin";

/**
 * The gRPC status of a call that failed, as @grpc/grpc-js sends it: the code, the message,
 * and the error's details (ErrorInfo, BadRequest) as a google.rpc.Status in
 * grpc-status-details-bin, encoded as connect-node encodes them for its own gRPC answers.
 */
export function grpcStatusOf(err: unknown): StatusObject {
  const error = ConnectError.from(err);
  const metadata = new Metadata();
  if (error.details.length > 0) {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    const encoded = trailer.get(DETAILS);
    if (encoded) metadata.set(DETAILS, Buffer.from(encoded, "base64"));
  }
  return { code: error.code as number as Status, details: error.rawMessage, metadata };
}

/** The trailers of a status as HTTP/2 headers (grpc-message percent-encoded, the details in base64). */
function statusHeaders(error: ConnectError): OutgoingHttpHeaders {
  const trailer = new Headers();
  setTrailerStatus(trailer, error);
  return Object.fromEntries(trailer.entries());
}

const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;

/**
 * Statuses @grpc/grpc-js answers by itself before a handler runs carry no ErrorInfo and
 * quote the framework: a request over the size bound (RESOURCE_EXHAUSTED, "Received message
 * larger than max") and one that does not decompress (INTERNAL). On this stream they leave as OMA errors (WIRE-3), like the
 * errors connect-node raises for the other protocols (framework-errors.ts). Every status
 * OMA itself sends has details, so a status without them is the framework's.
 */
export function withOmaFrameworkStatuses(stream: ServerHttp2Stream, messageType: string, readMaxBytes: number): void {
  const fix = (headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders | undefined => {
    if (!headers || headers[DETAILS] !== undefined) return headers;
    const code = Number(headers["grpc-status"]);
    if (code !== RESOURCE_EXHAUSTED && code !== INTERNAL) return headers;
    const message = decodeURI(String(headers["grpc-message"] ?? ""));
    const replaced =
      code === RESOURCE_EXHAUSTED && /^Received message/.test(message)
        ? requestTooLarge(readMaxBytes)
        : code === INTERNAL && /^Failed to decompress|^Error deserializing/.test(message)
          ? malformedRequest(messageType)
          : undefined;
    if (!replaced) return headers;
    const { ["grpc-status"]: _status, ["grpc-message"]: _message, ...rest } = headers;
    return { ...rest, ...statusHeaders(replaced) };
  };
  const respond = stream.respond.bind(stream);
  const sendTrailers = stream.sendTrailers.bind(stream);
  stream.respond = (headers, options) => respond(options?.endStream ? fix(headers) : headers, options);
  stream.sendTrailers = (headers) => sendTrailers(fix(headers)!);
}
