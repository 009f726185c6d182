import type { IncomingHttpHeaders, Http2Server, ServerHttp2Stream } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { RoutedService } from "./connect-adapter.js";
import { malformedRequest } from "./framework-errors.js";
import { GrpcCallContext, requestOf, responseOf } from "./grpc-call-context.js";
import { grpcStatusOf, withOmaFrameworkStatuses } from "./grpc-status.js";
import { rememberingDecoder } from "./request-decoding.js";
import { encodeResponse } from "./response-encoding.js";

/**
 * gRPC (application/grpc over HTTP/2) served by @grpc/grpc-js, the transport Node's gRPC
 * ecosystem builds on, which costs a fraction of connect-node's per-call path. The services
 * are the same ones connect-node serves for Connect and gRPC-Web (connect-adapter.ts, health,
 * reflection) and the same interceptors run around them (errors, metrics, traces), so
 * authentication, the access policy, validation, revocation and deadlines are one code path
 * for every protocol; this edge only moves bytes and statuses between grpc-js and them.
 */
export interface GrpcEdge {
  /** Serves one HTTP/2 stream whose content type is application/grpc[+proto]. */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]): void;
  close(): void;
}

type AnyImpl = (request: unknown, ctx: HandlerContext) => unknown;

export function createGrpcEdge(options: { services: readonly RoutedService[]; interceptors: readonly Interceptor[]; readMaxBytes: number; logger: Logger; rememberReceived?: readonly DescMessage[] }): GrpcEdge {
  const decoder = options.rememberReceived?.length ? rememberingDecoder(options.rememberReceived) : fromBinary;
  const server = new grpc.Server({ "grpc.max_receive_message_length": options.readMaxBytes, "grpc.enable_channelz": 0 });
  const inputs = new Map<string, string>();
  for (const { desc, impl } of options.services) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of desc.methods) {
      const path = `/${desc.typeName}/${method.name}`;
      inputs.set(path, method.input.typeName);
      definition[method.localName] = {
        path,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        requestSerialize: asBuffer,
        requestDeserialize: asBuffer,
        responseSerialize: asBuffer,
        responseDeserialize: asBuffer,
      };
      const fn = (impl as Record<string, unknown>)[method.localName];
      const methodImpl: AnyImpl =
        typeof fn === "function"
          ? (fn as AnyImpl).bind(impl)
          : () => {
              throw new ConnectError(`${desc.typeName}.${method.name} is not implemented`, Code.Unimplemented);
            };
      const bridge = { desc, method, impl: methodImpl, interceptors: options.interceptors, decoder };
      implementation[method.localName] =
        method.methodKind === "unary" ? unaryBridge(bridge) : method.methodKind === "server_streaming" ? serverStreamBridge(bridge) : bidiBridge(bridge);
    }
    server.addService(definition, implementation);
  }
  const http2Server = injectedHttp2Server(server);
  return {
    handleStream(stream, headers, flags, rawHeaders) {
      withOmaFrameworkStatuses(stream, inputs.get(String(headers[":path"])) ?? "the method's request", options.readMaxBytes);
      http2Server.emit("stream", stream, headers, flags, rawHeaders);
    },
    close: () => server.forceShutdown(),
  };
}

const asBuffer = (b: Buffer): Buffer => b;

/**
 * The HTTP/2 server a connection injector of `server` feeds: its "stream" listener is
 * grpc-js's own call handler. Streams are handed to it one by one (not whole connections),
 * so that Connect and gRPC-Web over HTTP/2 share a connection with gRPC on one port.
 */
function injectedHttp2Server(server: grpc.Server): Http2Server {
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  const injected = servers ? [...servers.keys()].at(-1) : undefined;
  if (!injected || injected.listenerCount("stream") === 0) throw new Error("this @grpc/grpc-js has no connection injector server to hand streams to");
  return injected;
}

interface Bridge {
  readonly desc: DescService;
  readonly method: DescMethod;
  readonly impl: AnyImpl;
  readonly interceptors: readonly Interceptor[];
  readonly decoder: RequestDecoder;
}

type RequestDecoder = (schema: DescMessage, bytes: Uint8Array) => unknown;

function decode(decoder: RequestDecoder, schema: DescMessage, bytes: Buffer): unknown {
  try {
    return decoder(schema, bytes);
  } catch {
    throw malformedRequest(schema.typeName);
  }
}

const encode = (schema: DescMessage, message: unknown): Buffer => {
  const bytes = encodeResponse(schema, create(schema, message as never));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
};

/** The interceptors around `next`, outermost first (as connect-node applies them). */
function intercepted(interceptors: readonly Interceptor[], next: Parameters<Interceptor>[0]): Parameters<Interceptor>[0] {
  return interceptors.reduceRight((inner, interceptor) => interceptor(inner), next);
}

function unaryBridge(bridge: Bridge): grpc.handleUnaryCall<Buffer, Buffer> {
  const { desc, method } = bridge;
  return (call, callback) => {
    const ctx = new GrpcCallContext(desc, method, call);
    const run = async (): Promise<Buffer> => {
      const next = intercepted(bridge.interceptors, async (req) => {
        const response = await bridge.impl(req.message, ctx);
        return responseOf(ctx, false, create(method.output, response as never)) as UnaryResponse;
      });
      const res = await next(requestOf(ctx, false, decode(bridge.decoder, method.input, call.request)));
      return encode(method.output, res.message);
    };
    run().then(
      (bytes) => {
        ctx.end();
        callback(null, bytes);
      },
      (err: unknown) => {
        ctx.end();
        callback(grpcStatusOf(err));
      },
    );
  };
}

/** Runs a streaming method through the interceptors; resolves with its response messages. */
async function streamResponses(bridge: Bridge, ctx: HandlerContext, requests: AsyncIterable<unknown>, single: boolean): Promise<AsyncIterable<unknown>> {
  const next = intercepted(bridge.interceptors, async (req) => {
    const input = single ? await firstOf(req.message as AsyncIterable<unknown>) : req.message;
    return responseOf(ctx, true, bridge.impl(input, ctx)) as StreamResponse;
  });
  const res = await next(requestOf(ctx, true, requests));
  return res.message as AsyncIterable<unknown>;
}

async function firstOf(messages: AsyncIterable<unknown>): Promise<unknown> {
  for await (const m of messages) return m;
  throw malformedRequest("the request");
}

async function* one(message: unknown): AsyncIterable<unknown> {
  yield message;
}

/**
 * The requests of a client stream, decoded. Read through events rather than the stream's
 * async iterator, which destroys the call when it ends with an error, and a destroyed call
 * can no longer send its status.
 */
async function* decoded(decoder: RequestDecoder, schema: DescMessage, call: grpc.ServerDuplexStream<Buffer, Buffer>): AsyncIterable<unknown> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (bytes: Buffer) => {
    queue.push(bytes);
    if (queue.length >= 16) call.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  call.on("data", onData);
  call.once("end", onEnd);
  call.once("error", onError);
  call.once("cancelled", onEnd);
  try {
    for (;;) {
      const bytes = queue.shift();
      if (bytes) {
        if (queue.length < 4) call.resume();
        yield decode(decoder, schema, bytes);
      } else if (failure) throw failure.error;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    call.off("data", onData);
    call.off("end", onEnd);
    call.off("error", onError);
    call.off("cancelled", onEnd);
  }
}

/** Writes every response to `call` (waiting for the peer when it is slow), then the status. */
async function pump(bridge: Bridge, call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>, requests: AsyncIterable<unknown>, single: boolean): Promise<void> {
  const ctx = new GrpcCallContext(bridge.desc, bridge.method, call);
  try {
    const messages = await streamResponses(bridge, ctx, requests, single);
    for await (const message of messages) {
      if (call.cancelled) break;
      if (!call.write(encode(bridge.method.output, message))) await drainedOrEnded(call, ctx.signal);
    }
    ctx.end();
    if (!call.cancelled) call.end();
  } catch (err) {
    ctx.end();
    if (!call.cancelled) call.emit("error", grpcStatusOf(err));
  }
}

function drainedOrEnded(call: NodeJS.EventEmitter, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function serverStreamBridge(bridge: Bridge): grpc.handleServerStreamingCall<Buffer, Buffer> {
  return (call) => {
    let request: unknown;
    try {
      request = decode(bridge.decoder, bridge.method.input, call.request);
    } catch (err) {
      call.emit("error", grpcStatusOf(err));
      return;
    }
    void pump(bridge, call, one(request), true);
  };
}

function bidiBridge(bridge: Bridge): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => void pump(bridge, call, decoded(bridge.decoder, bridge.method.input, call), false);
}
