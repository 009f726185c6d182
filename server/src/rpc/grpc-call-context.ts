import type * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { MetadataHeaders } from "./metadata-headers.js";
import { procedureName } from "./procedure-name.js";

type SurfaceCall = grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;

/**
 * The handler context of one call served through @grpc/grpc-js. Its signal aborts when the
 * client cancels (CANCELED) or the deadline passes (DEADLINE_EXCEEDED, WIRE-7), as
 * connect-node's does. The signal, and the response headers nothing on this edge sends, are
 * made when something first asks for them: most unary calls never do, and an AbortController
 * with its cancel listener and deadline timer was ~4 % of the server's CPU per no-op call.
 * A signal made late starts aborted when the call was already cancelled or past its deadline.
 */
export class GrpcCallContext implements HandlerContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly url: string;
  readonly requestHeader: Headers;
  readonly values: ContextValues = createContextValues();
  readonly #call: SurfaceCall;
  readonly #deadlineMs: number;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    call: SurfaceCall,
  ) {
    this.#call = call;
    this.url = `/${procedureName(method)}`;
    this.requestHeader = new MetadataHeaders(call.metadata, "application/grpc");
    const deadline = call.getDeadline();
    this.#deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  }

  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const controller = (this.#controller = new AbortController());
    const left = this.timeoutMs();
    if (this.#call.cancelled) controller.abort(cancelled());
    else if (left !== undefined && left <= 0) controller.abort(deadlinePassed());
    else if (!this.#ended) {
      (this.#call as NodeJS.EventEmitter).once("cancelled", this.#onCancelled);
      if (left !== undefined) this.#timer = setTimeout(() => controller.abort(deadlinePassed()), left);
    }
    return controller.signal;
  }

  readonly timeoutMs = (): number | undefined => (Number.isFinite(this.#deadlineMs) ? this.#deadlineMs - Date.now() : undefined);

  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }

  /** The call is over: its timer and listener go. */
  end(): void {
    this.#ended = true;
    if (!this.#controller) return;
    clearTimeout(this.#timer);
    (this.#call as NodeJS.EventEmitter).off("cancelled", this.#onCancelled);
  }

  readonly #onCancelled = (): void => this.#controller?.abort(cancelled());
}

const cancelled = () => new ConnectError("the client cancelled the call", Code.Canceled);
const deadlinePassed = () => new ConnectError("the deadline passed", Code.DeadlineExceeded);

/** What a unary call's request and response share: the call's context, its service and method. */
abstract class InterceptedPart {
  readonly service: DescService;
  readonly method: DescMethod;
  constructor(
    readonly ctx: HandlerContext,
    readonly stream: boolean,
    readonly message: unknown,
  ) {
    this.service = ctx.service;
    this.method = ctx.method;
  }
}

/**
 * A unary call's request as interceptors see it; its signal is the context's, made when read
 * (a class, so that the getter lives on the prototype: an object literal with a getter is slow
 * to make). Interceptors pass a unary request and response on as they are, never spread.
 */
class InterceptedRequest extends InterceptedPart {
  readonly requestMethod = "POST";
  get url(): string {
    return this.ctx.url;
  }
  get header(): Headers {
    return this.ctx.requestHeader;
  }
  get contextValues(): ContextValues {
    return this.ctx.values;
  }
  get signal(): AbortSignal {
    return this.ctx.signal;
  }
}

/** A unary call's response as interceptors see it; its headers are the context's, made when read. */
class InterceptedResponse extends InterceptedPart {
  get header(): Headers {
    return this.ctx.responseHeader;
  }
  get trailer(): Headers {
    return this.ctx.responseTrailer;
  }
}

type InterceptedRequestOf = Parameters<Parameters<Interceptor>[0]>[0];

/**
 * A call's request for the interceptors. A streaming call's is a plain object with
 * everything made at once: interceptors copy it with a spread, which drops getters, and a
 * stream's signal is read anyway.
 */
export const requestOf = (ctx: HandlerContext, stream: boolean, message: unknown): InterceptedRequestOf =>
  (stream
    ? { stream, service: ctx.service, method: ctx.method, requestMethod: ctx.requestMethod, url: ctx.url, signal: ctx.signal, header: ctx.requestHeader, contextValues: ctx.values, message }
    : new InterceptedRequest(ctx, stream, message)) as never;

/** A call's response for the interceptors; a streaming call's is a plain object, as its request is. */
export const responseOf = (ctx: HandlerContext, stream: boolean, message: unknown): UnaryResponse | StreamResponse =>
  (stream ? { stream, service: ctx.service, method: ctx.method, header: ctx.responseHeader, trailer: ctx.responseTrailer, message } : new InterceptedResponse(ctx, stream, message)) as never;
