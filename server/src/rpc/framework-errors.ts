import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, encodeEnvelope, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamFromJson, endStreamToJson, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { OmaError } from "../errors/oma-error.js";
import { toConnectError } from "./to-connect-error.js";

/**
 * The answer for an error the RPC framework raised itself, before any handler ran — the
 * request did not decode, was over the size limit, or its framing or headers were wrong —
 * or undefined to leave an error as it is. Such errors carry no ErrorInfo and quote the
 * parser; OMA answers them like any other (WIRE-3): a reason, and no parser text.
 */
export function omaErrorFor(err: ConnectError, messageType: string, readMaxBytes: number): ConnectError | undefined {
  if (err.details.length > 0) return undefined; // an OMA error already
  if (err.code === Code.ResourceExhausted && /readMaxBytes/.test(err.rawMessage)) return requestTooLarge(readMaxBytes);
  const parseFailure = err.code === Code.InvalidArgument || (err.code === Code.Internal && /^parse (binary|json)|^cannot decode/.test(err.rawMessage));
  if (parseFailure) return malformedRequest(messageType);
  return undefined;
}

const unreachable = () => new Error("unreachable");

/** RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE: the request is over the server's size bound. */
export function requestTooLarge(readMaxBytes: number): ConnectError {
  return toConnectError(new OmaError("REQUEST_TOO_LARGE", `the request is larger than ${readMaxBytes} bytes`, { limit_bytes: readMaxBytes }), "", unreachable);
}

/** INVALID_ARGUMENT / MALFORMED_REQUEST: the request does not decode as its message type. */
export function malformedRequest(messageType: string): ConnectError {
  return toConnectError(new OmaError("MALFORMED_REQUEST", `the request could not be read as ${messageType}`, { message_type: messageType }), "", unreachable);
}

/**
 * Wraps a Connect universal handler so that errors the framework answers by itself (see
 * omaErrorFor) leave the server as OMA errors, whatever the protocol: gRPC (trailers),
 * gRPC-Web (the trailer frame), Connect (the error body, or the end-stream message).
 */
export function withOmaFrameworkErrors(handler: UniversalHandler, readMaxBytes: number): UniversalHandler {
  const messageType = handler.method.input.typeName;
  const fix = (err: ConnectError | undefined) => (err ? omaErrorFor(err, messageType, readMaxBytes) : undefined);
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const type = res.header?.get("content-type") ?? "";
    if (type.startsWith("application/grpc-web")) {
      return { ...res, body: rewriteEnvelopes(res.body, trailerFlag, compressionNamed(res.header?.get("grpc-encoding")), readMaxBytes, (data) => fixGrpcWebTrailer(data, fix)) };
    }
    if (type.startsWith("application/grpc")) return { ...res, body: afterBody(res.body, () => fixGrpcTrailer(res.trailer, fix)) };
    if (type.startsWith("application/connect+")) {
      return { ...res, body: rewriteEnvelopes(res.body, endStreamFlag, compressionNamed(res.header?.get("connect-content-encoding")), readMaxBytes, (data) => fixEndStream(data, fix)) };
    }
    if (res.status !== 200) return await fixConnectUnary(res, fix);
    return res;
  };
  return Object.assign(wrapped, {
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
    service: handler.service,
    method: handler.method,
  });
}

type Fix = (err: ConnectError | undefined) => ConnectError | undefined;
type Body = UniversalServerResponse["body"];

function fixGrpcTrailer(trailer: Headers | undefined, fix: Fix): void {
  if (!trailer) return;
  const replaced = fix(findTrailerError(trailer));
  if (!replaced) return;
  for (const key of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailer.delete(key);
  setTrailerStatus(trailer, replaced);
}

function fixGrpcWebTrailer(data: Uint8Array, fix: Fix): Uint8Array {
  const trailer = trailerParse(data);
  const replaced = fix(findTrailerError(trailer));
  if (!replaced) return data;
  for (const key of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailer.delete(key);
  setTrailerStatus(trailer, replaced);
  return trailerSerialize(trailer);
}

function fixEndStream(data: Uint8Array, fix: Fix): Uint8Array {
  const end = endStreamFromJson(data);
  const replaced = fix(end.error);
  if (!replaced) return data;
  return new TextEncoder().encode(JSON.stringify(endStreamToJson(end.metadata, replaced, undefined)));
}

async function fixConnectUnary(res: UniversalServerResponse, fix: Fix): Promise<UniversalServerResponse> {
  const bytes = await readAll(res.body);
  let parsed: ConnectError;
  try {
    parsed = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown));
  } catch {
    return { ...res, body: createAsyncIterable([bytes]) };
  }
  const replaced = fix(parsed);
  if (!replaced) return { ...res, body: createAsyncIterable([bytes]) };
  const body = errorToJsonBytes(replaced, {});
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(replaced.code), header, body: createAsyncIterable([body]) };
}

/** The body, then `after()` once it is consumed (gRPC writes its trailers after the body). */
function afterBody(body: Body, after: () => void): Body {
  if (body === undefined) {
    after();
    return body;
  }
  return (async function* () {
    for await (const chunk of body) yield chunk;
    after();
  })();
}

/** The body's enveloped messages, the one with `flag` passed through `rewrite`. */
/** The compression a response announced for its envelopes (the framework offers gzip and brotli). */
function compressionNamed(name: string | null | undefined): Compression | undefined {
  return [compressionGzip, compressionBrotli].find((c) => c.name === name);
}

type Compression = typeof compressionGzip;

/**
 * Rewrites the envelopes of a stream that carry `flag` (the trailer or the end-stream
 * message). Such an envelope may be compressed like any other (flag bit 0x01, the
 * response's negotiated encoding): it is read decompressed and written back compressed.
 */
function rewriteEnvelopes(body: Body, flag: number, compression: Compression | undefined, readMaxBytes: number, rewrite: (data: Uint8Array) => Uint8Array): Body {
  if (body === undefined) return body;
  return (async function* () {
    let pending: Uint8Array = new Uint8Array(0);
    for await (const chunk of body) {
      pending = concat(pending, chunk);
      for (;;) {
        if (pending.byteLength < 5) break;
        const length = new DataView(pending.buffer, pending.byteOffset, pending.byteLength).getUint32(1);
        if (pending.byteLength < 5 + length) break;
        const flags = pending[0]!;
        const envelope = pending.subarray(0, 5 + length);
        pending = pending.subarray(5 + length);
        if ((flags & flag) !== flag) {
          yield envelope;
          continue;
        }
        const compressed = (flags & COMPRESSED_FLAG) === COMPRESSED_FLAG;
        if (compressed && !compression) {
          yield envelope; // nothing to read it with: pass it on as it came
          continue;
        }
        const data = compressed ? await compression!.decompress(envelope.subarray(5), readMaxBytes) : envelope.subarray(5);
        const rewritten = rewrite(data);
        yield encodeEnvelope(flags, compressed ? await compression!.compress(rewritten) : rewritten);
      }
    }
    if (pending.byteLength > 0) yield pending;
  })();
}

/** Envelope flag: the payload is compressed with the response's encoding. */
const COMPRESSED_FLAG = 0b00000001;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

async function readAll(body: Body): Promise<Uint8Array> {
  let out: Uint8Array = new Uint8Array(0);
  if (body === undefined) return out;
  for await (const chunk of body) out = concat(out, chunk);
  return out;
}
