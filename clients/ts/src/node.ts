// The OMA TypeScript SDK for Node: createOmaClient over gRPC (HTTP/2, default; through
// @grpc/grpc-js), Connect or gRPC-Web (with @connectrpc/connect-node). Everything else is re-exported from the root.
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { resolveTransportTarget, standardInterceptors, type OmaClientOptions } from "./client-options.js";
import { createGrpcJsTransport, type GrpcJsChannel } from "./grpc-js-transport.js";
import { createOmaClientFromTransport, type OmaClient } from "./oma-client.js";

export interface OmaNodeClientOptions extends OmaClientOptions {
  /** HTTP version for "connect" and "grpc-web". Default "1.1"; "grpc" always uses HTTP/2. */
  httpVersion?: "1.1" | "2";
  /**
   * A gRPC channel to share with other clients (protocol "grpc" only): one connection for
   * all of them, each with its own token and interceptors. Its URL is the base URL.
   */
  channel?: GrpcJsChannel;
}

/** Creates the OMA clients with Node's HTTP stack. */
export function createOmaClient(options: OmaNodeClientOptions): OmaClient {
  const { channel } = options;
  if (channel) {
    if (options.transport) throw new TypeError("createOmaClient: give `channel` or `transport`, not both");
    if ((options.protocol ?? "grpc") !== "grpc") throw new TypeError(`createOmaClient: \`channel\` is a gRPC channel; protocol "${options.protocol}" cannot use it`);
  }
  const target = resolveTransportTarget(channel && options.baseUrl === undefined ? { ...options, baseUrl: channel.baseUrl } : options);
  if ("transport" in target) return createOmaClientFromTransport(target.transport);
  const interceptors = standardInterceptors(options);
  const { baseUrl } = target;
  const httpVersion = options.httpVersion ?? "1.1";
  switch (options.protocol ?? "grpc") {
    case "grpc":
      // gRPC moves through @grpc/grpc-js (about half the client CPU a call of connect-node's gRPC transport costs).
      return createOmaClientFromTransport(createGrpcJsTransport({ baseUrl, ...(channel ? { channel } : {}), interceptors }), { bidiStreams: true });
    case "connect":
      return createOmaClientFromTransport(createConnectTransport({ baseUrl, httpVersion, interceptors }), { bidiStreams: httpVersion === "2" });
    case "grpc-web":
      return createOmaClientFromTransport(createGrpcWebTransport({ baseUrl, httpVersion, interceptors }), { bidiStreams: httpVersion === "2" });
  }
}

export { createGrpcJsTransport, GrpcJsChannel, type GrpcJsTransportOptions } from "./grpc-js-transport.js";
export {
  omaErrorInfo,
  reasonOf,
  toOmaRpcError,
  OmaRpcError,
  type OmaErrorInfo,
  bearerAuth,
  actAsTenant,
  omaErrors,
  type TokenSource,
  type OmaClientOptions,
  type OmaProtocol,
  createOmaClientFromTransport,
  type OmaClient,
  type OmaSessionsClient,
  watchEvents,
  defaultWatchIdleTimeoutMs,
  type WatchOptions,
  type WatchReconnect,
  emitEvent,
  emitEvents,
  newIdempotencyKey,
  userText,
  defaultEmitAttempts,
  defaultEmitAttemptTimeoutMs,
  type EmitOptions,
  type EventPayloadInit,
  openAppender,
  type Appender,
  createEmitBatcher,
  MAX_GATHERED_EMITS,
  SessionCredential,
  withRetries,
  defaultRetryAttempts,
  defaultAttemptTimeoutMs,
  type RetryOptions,
  backoffDelay,
  isTransientFailure,
  defaultBackoff,
  type BackoffOptions,
} from "./index.js";
