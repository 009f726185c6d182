import type { DescMethodServerStreaming, DescMethodUnary, DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** Per-call options every protocol supports. */
export interface CallOptions {
  /** Deadline for the call, ms from now. */
  readonly timeoutMs?: number;
  /** Cancels the call (a stream ends with CANCELLED). */
  readonly signal?: AbortSignal;
}

/** The protocols the runner speaks. */
export type Protocol = "grpc" | "connect" | "grpc-web";

/**
 * A protocol-neutral client: every case calls the target through this, so the same case
 * runs over grpc-js, Connect and gRPC-Web. Every failure is thrown as an RpcFailure.
 */
export interface RpcClient {
  readonly protocol: Protocol;
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): Promise<MessageShape<O>>;
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): AsyncIterable<MessageShape<O>>;
  /** Calls a method the protocol does not define (for UNIMPLEMENTED, WIRE-7). */
  unaryUnknownMethod(service: string, method: string, options?: CallOptions): Promise<void>;
  close(): void;
}
