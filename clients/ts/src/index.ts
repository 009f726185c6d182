// The OMA TypeScript SDK, browser-safe entry (no node: imports). Generated messages and
// services are under "@oma/client/gen/…"; Node programs that want gRPC over HTTP/2 use
// "@oma/client/node", which has the same createOmaClient with every protocol.
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { resolveTransportTarget, standardInterceptors, type OmaClientOptions } from "./client-options.js";
import { createOmaClientFromTransport, type OmaClient } from "./oma-client.js";

/** Creates the OMA clients over Connect (default) or gRPC-Web with the Fetch API. */
export function createOmaClient(options: OmaClientOptions): OmaClient {
  const target = resolveTransportTarget(options);
  if ("transport" in target) return createOmaClientFromTransport(target.transport);
  const interceptors = standardInterceptors(options);
  switch (options.protocol ?? "connect") {
    case "connect":
      return createOmaClientFromTransport(createConnectTransport({ baseUrl: target.baseUrl, interceptors }));
    case "grpc-web":
      return createOmaClientFromTransport(createGrpcWebTransport({ baseUrl: target.baseUrl, interceptors }));
    case "grpc":
      throw new TypeError('createOmaClient: protocol "grpc" needs HTTP/2 trailers, which browsers lack; import createOmaClient from "@oma/client/node", or use "connect" or "grpc-web"');
  }
}

export { omaErrorInfo, reasonOf, toOmaRpcError, OmaRpcError, type OmaErrorInfo } from "./errors.js";
export { bearerAuth, actAsTenant, omaErrors, type TokenSource } from "./interceptors.js";
export type { OmaClientOptions, OmaProtocol } from "./client-options.js";
export { createOmaClientFromTransport, type OmaClient, type OmaSessionsClient } from "./oma-client.js";
export { watchEvents, defaultWatchIdleTimeoutMs, type WatchOptions, type WatchReconnect } from "./watch.js";
export { emitEvent, emitEvents, newIdempotencyKey, userText, defaultEmitAttempts, defaultEmitAttemptTimeoutMs, type EmitOptions, type EventPayloadInit } from "./emit.js";
export { openAppender, type Appender } from "./append.js";
export { createEmitBatcher, MAX_GATHERED_EMITS } from "./emit-batcher.js";
export { SessionCredential } from "./session-credential.js";
export { withRetries, defaultRetryAttempts, defaultAttemptTimeoutMs, type RetryOptions } from "./retry.js";
export { backoffDelay, isTransientFailure, defaultBackoff, type BackoffOptions } from "./backoff.js";
