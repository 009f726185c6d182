import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type HandlerContext, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "../logger.js";
import { withOmaFrameworkErrors } from "./framework-errors.js";
import { TENANT_HEADER, type Authenticator } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import { OmaError } from "../errors/oma-error.js";
import { procedureName } from "./procedure-name.js";
import { deadlinePassed } from "./deadline-passed.js";
import { accessRuleOf, authorize, type AccessRule } from "./access-policy.js";
import type { BidiStreamHandler, Call, CallerCredentials, ServerStreamHandler, ServiceParts, UnaryHandler } from "./handlers.js";
import { traceContextKey } from "../telemetry/trace-interceptor.js";
import type { Context } from "@opentelemetry/api";
import { FORWARDED_BY_HEADER } from "../sandbox/sandbox-forwarding.js";

/**
 * The one place where Connect meets the handlers: every call is authenticated from its
 * headers (once), authorised by the access policy, and handed to its handler with the
 * principal. A server stream whose token is revoked ends at once with UNAUTHENTICATED.
 * connect-node serves what this makes for Connect and gRPC-Web, and grpc-edge.ts serves the
 * same implementations for gRPC through @grpc/grpc-js; handlers do not change.
 */
export function connectService<S extends DescService>(service: S, parts: ServiceParts<S>, auth: Authenticator): Partial<ServiceImpl<S>> {
  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const handler = (parts.handlers as Record<string, unknown>)[method.localName];
    if (typeof handler !== "function") continue;
    const validate = (parts.validators as Record<string, Validate>)[method.localName]!;
    const gate: Gate = { method, procedure: procedureName(method), rule: accessRuleOf(method), validate, auth };
    if (method.methodKind === "unary") impl[method.localName] = unary(gate, handler as UnaryHandler<never, never>);
    else if (method.methodKind === "server_streaming") impl[method.localName] = serverStream(gate, handler as ServerStreamHandler<never, never>);
    else if (method.methodKind === "bidi_streaming") impl[method.localName] = bidiStream(gate, handler as BidiStreamHandler<never, never>);
    else throw new Error(`${procedureName(method)}: client-streaming methods are not served`);
  }
  return impl as Partial<ServiceImpl<S>>;
}

type Validate = (request: unknown) => void;

/** What stands between a call and its handler: who may call the method, and its request rules. */
interface Gate {
  readonly method: DescMethod;
  readonly procedure: string;
  readonly rule: AccessRule;
  readonly validate: Validate;
  readonly auth: Authenticator;
}

/** Authenticates, authorises, then validates the request: the one way into every handler. */
async function admit(gate: Gate, request: unknown, ctx: HandlerContext): Promise<Principal> {
  const principal = await gate.auth.authenticate(ctx.requestHeader);
  authorize(gate.rule, principal, request, gate.procedure);
  gate.validate(request);
  return principal;
}

function unary(gate: Gate, handler: UnaryHandler<never, never>) {
  return async (request: never, ctx: HandlerContext) => {
    const principal = await admit(gate, request, ctx);
    const response = await handler(request, callOf(principal, ctx));
    const late = deadlinePassed(ctx);
    if (late) throw late;
    return response;
  };
}

function serverStream(gate: Gate, handler: ServerStreamHandler<never, never>) {
  return async function* (request: never, ctx: HandlerContext) {
    const principal = await admit(gate, request, ctx);
    yield* untilRevoked(gate.auth, principal, ctx, (call) => handler(request, call));
  };
}

/**
 * A bidirectional stream: the caller is authenticated once, from the stream's headers;
 * every request is authorised and validated before the handler sees it, and one that
 * fails ends the stream with its error.
 */
function bidiStream(gate: Gate, handler: BidiStreamHandler<never, never>) {
  return async function* (requests: AsyncIterable<never>, ctx: HandlerContext) {
    const principal = await gate.auth.authenticate(ctx.requestHeader);
    async function* checked(): AsyncIterable<never> {
      for await (const request of requests) {
        authorize(gate.rule, principal, request, gate.procedure);
        gate.validate(request);
        yield request;
      }
    }
    yield* untilRevoked(gate.auth, principal, ctx, (call) => handler(checked(), call));
  };
}

/**
 * A unary call as its handler sees it; its signal and credentials are read from the context
 * when asked for (most handlers never do). A class, so that the getters live on the prototype.
 */
class UnaryCall implements Call {
  constructor(
    readonly principal: Principal,
    private readonly ctx: HandlerContext,
  ) {}
  get trace(): Context {
    return this.ctx.values.get(traceContextKey)();
  }
  get signal(): AbortSignal {
    return this.ctx.signal;
  }
  get credentials(): CallerCredentials {
    return credentialsOf(this.ctx);
  }
}

const callOf = (principal: Principal, ctx: HandlerContext): Call => new UnaryCall(principal, ctx);

function credentialsOf(ctx: HandlerContext): CallerCredentials {
  const header = (name: string) => ctx.requestHeader.get(name) ?? undefined;
  return { authorization: header("authorization"), tenant: header(TENANT_HEADER), forwardedBy: header(FORWARDED_BY_HEADER) };
}

/** The handler's messages, ended with UNAUTHENTICATED the moment the caller's token is revoked. */
async function* untilRevoked(auth: Authenticator, principal: Principal, ctx: HandlerContext, open: (call: Call) => AsyncIterable<unknown>) {
  const revoked = new AbortController();
  let onRevoked!: () => void;
  const revocation = new Promise<"revoked">((resolve) => (onRevoked = () => resolve("revoked")));
  const unwatch = auth.watchRevocation(principal, () => {
    revoked.abort();
    onRevoked();
  });
  const call: Call = {
    principal,
    signal: AbortSignal.any([ctx.signal, revoked.signal]),
    get trace() {
      return ctx.values.get(traceContextKey)();
    },
    credentials: credentialsOf(ctx),
  };
  const messages = open(call)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const pending = messages.next();
      pending.catch(() => undefined); // if revocation wins the race, a later rejection is nobody's
      const next = await Promise.race([pending, revocation]);
      if (next === "revoked") {
        void messages.return?.(undefined)?.catch(() => undefined);
        throw new OmaError("UNAUTHENTICATED", "the token of this stream was revoked", { cause: "revoked" });
      }
      if (next.done) {
        const late = deadlinePassed(ctx);
        if (late) throw late;
        return;
      }
      yield next.value;
    }
  } catch (err) {
    // A client that hangs up is not a fault: the stream ends as cancelled, unlogged.
    if (ctx.signal.aborted && !revoked.signal.aborted && !(err instanceof OmaError)) {
      throw deadlinePassed(ctx) ?? new ConnectError("the client cancelled the call", Code.Canceled);
    }
    throw err;
  } finally {
    unwatch();
  }
}

/** A service and its Connect implementation (connectService's, or health and reflection). */
export interface RoutedService {
  readonly desc: DescService;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly impl: any;
}

/**
 * The Node request handler for every protocol on one port. Errors the framework answers by
 * itself (undecodable or oversized requests) leave as OMA errors (framework-errors.ts), and
 * a client that goes away mid-call is not logged as a fault. Unknown paths are 404, which
 * gRPC clients read as UNIMPLEMENTED.
 */
export function connectNodeHandler(options: { services: readonly RoutedService[]; interceptors: readonly Interceptor[]; readMaxBytes: number; logger: Logger }) {
  const router = createConnectRouter({ interceptors: [...options.interceptors], readMaxBytes: options.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  for (const s of options.services) router.service(s.desc, s.impl);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, withOmaFrameworkErrors(h, options.readMaxBytes)]));
  return (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    const request = universalRequestFromNodeRequest(req, res, undefined, undefined);
    handler(request)
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // The peer reset the stream or closed the connection: nothing to answer, nothing wrong here.
        if (request.signal.aborted || res.destroyed || ConnectError.from(reason).code === Code.Aborted) {
          options.logger.debug({ procedure: `${handler.service.typeName}/${handler.method.name}`, err: String(reason) }, "client went away");
          return;
        }
        options.logger.error({ procedure: `${handler.service.typeName}/${handler.method.name}`, err: reason }, "writing a response failed");
      });
  };
}
