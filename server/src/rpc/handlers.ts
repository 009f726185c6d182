import type {
  DescMessage, DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary, DescService, MessageInitShape, MessageShape,
} from "@bufbuild/protobuf";
import type { Context } from "@opentelemetry/api";
import type { Principal } from "../auth/principal.js";

/** What a handler knows about its call besides the request: who makes it, when it ends, and its trace. */
export interface Call {
  readonly principal: Principal;
  /** Aborted when the call ends: the client cancelled, the deadline passed, or the token was revoked. */
  readonly signal: AbortSignal;
  /**
   * The trace context of the call's span, for the spans of the work it does (the root context
   * when nothing traces). Its span is made by the SDK after the answer either way
   * (telemetry/late-span.ts); reading its context takes the span's ids and sampling decision
   * at once, so read it only to make spans under it or to hand the trace on.
   */
  readonly trace: Context;
  /**
   * The caller's own credentials as sent (`authorization`, `oma-tenant`), for a call this
   * server forwards to another server of the system on the caller's behalf. A secret:
   * never logged, never stored.
   */
  readonly credentials?: CallerCredentials;
}

/** Request headers that say who calls. */
export interface CallerCredentials {
  readonly authorization: string | undefined;
  readonly tenant: string | undefined;
  /** Set on a call another server forwarded here (`oma-forwarded-by`: its instance id). */
  readonly forwardedBy: string | undefined;
}

export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  call: Call,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

export type ServerStreamHandler<I extends DescMessage, O extends DescMessage> = (request: MessageShape<I>, call: Call) => AsyncIterable<MessageInitShape<O>>;

/** A bidirectional stream: every request reaches the handler only after the adapter checked it. */
export type BidiStreamHandler<I extends DescMessage, O extends DescMessage> = (requests: AsyncIterable<MessageShape<I>>, call: Call) => AsyncIterable<MessageInitShape<O>>;

type HandlerOf<M> =
  M extends DescMethodUnary<infer I, infer O>
    ? UnaryHandler<I, O>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? ServerStreamHandler<I, O>
      : M extends DescMethodBiDiStreaming<infer I, infer O>
        ? BidiStreamHandler<I, O>
        : never;

/**
 * A service's handlers, free of any RPC framework: each takes the request and the Call.
 * An adapter (rpc/connect-adapter.ts) authenticates, authorises and validates every call
 * before a handler sees it, then translates errors.
 */
export type Handlers<S extends DescService> = { [P in keyof S["method"]]: HandlerOf<S["method"][P]> };

type InputOf<M> =
  M extends DescMethodUnary<infer I, DescMessage>
    ? I
    : M extends DescMethodServerStreaming<infer I, DescMessage>
      ? I
      : M extends DescMethodBiDiStreaming<infer I, DescMessage>
        ? I
        : never;

/**
 * A service's request rules: one function per method that throws (INVALID_FIELD naming the
 * field, or the reason of the bound it breaks) when a request is malformed, and returns
 * otherwise. The adapter runs it after authentication and before the handler, so handlers
 * and the domain only ever see requests that passed. A rule never changes the request.
 * (The events of an append are checked by their handler's first step instead, with the
 * same layer's validateEvents, whose encoding of them the log then stores: see
 * session-service.ts.)
 */
export type Validators<S extends DescService> = { [P in keyof S["method"]]: (request: MessageShape<InputOf<S["method"][P]>>) => void };

/** What a part serves for one service: its handlers and the rules of its requests. */
export interface ServiceParts<S extends DescService> {
  readonly handlers: Partial<Handlers<S>>;
  readonly validators: Validators<S>;
}
