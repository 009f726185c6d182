import { createConnectClient } from "./connect-client.js";
import { createGrpcJsClient } from "./grpc-js-client.js";
import type { Protocol, RpcClient } from "./rpc-client.js";

/**
 * A client for the target: grpc-js for gRPC, connect-node for Connect and gRPC-Web. With a
 * token, every call carries `authorization: Bearer <token>` (SEC-4).
 */
export function createRpcClient(target: string, protocol: Protocol, token?: string): RpcClient {
  return protocol === "grpc" ? createGrpcJsClient(target, token) : createConnectClient(target, protocol, token);
}
