import type { DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary, DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** Per-call options every protocol supports. */
export interface CallOptions {
  /** Deadline for the call, ms from now. */
  readonly timeoutMs?: number;
  /** Cancels the call (a stream ends with CANCELLED). */
  readonly signal?: AbortSignal;
  /**
   * A deadline sent to the server (grpc-timeout, connect-timeout-ms) that the client does
   * not enforce itself, so the call ends the way the server ends it (WIRE-7). Bound the
   * call with `signal`.
   */
  readonly serverTimeoutMs?: number;
  /**
   * Extra request headers (gRPC metadata), e.g. `oma-tenant`; an `authorization` here
   * replaces the client's own bearer token for this call (SEC-4, SEC-6).
   */
  readonly headers?: Readonly<Record<string, string>>;
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
  /**
   * A bidirectional stream; undefined when the client's protocol cannot carry one (Connect
   * and gRPC-Web over HTTP/1.1).
   */
  readonly bidiStream?: <I extends DescMessage, O extends DescMessage>(
    method: DescMethodBiDiStreaming<I, O>,
    requests: AsyncIterable<MessageInitShape<I>>,
    options?: CallOptions,
  ) => AsyncIterable<MessageShape<O>>;
  /** Calls a method the protocol does not define (for UNIMPLEMENTED, WIRE-7). */
  unaryUnknownMethod(service: string, method: string, options?: CallOptions): Promise<void>;
  close(): void;
}
