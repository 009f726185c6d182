import { createConnectClient } from "./connect-client.js";
import { createGrpcJsClient } from "./grpc-js-client.js";
import type { Protocol, RpcClient } from "./rpc-client.js";

/** A client for the target: grpc-js for gRPC, connect-node for Connect and gRPC-Web. */
export function createRpcClient(target: string, protocol: Protocol): RpcClient {
  return protocol === "grpc" ? createGrpcJsClient(target) : createConnectClient(target, protocol);
}
