import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { DescMessage, DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema } from "@oma/client/gen/google/rpc/error_details_pb.js";
import type { CallOptions, Protocol, RpcClient } from "./rpc-client.js";
import { RpcFailure } from "./rpc-failure.js";

/** An RpcClient over connect-node: the Connect protocol or gRPC-Web (or gRPC, for comparison). */
export function createConnectClient(target: string, protocol: Protocol, token?: string): RpcClient {
  const bearer: Interceptor = (next) => (req) => {
    if (!req.header.has("authorization")) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const interceptors = token ? [bearer] : [];
  const transport: Transport =
    protocol === "connect"
      ? createConnectTransport({ baseUrl: target, httpVersion: "1.1", interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl: target, httpVersion: "1.1", interceptors })
        : createGrpcTransport({ baseUrl: target, interceptors });
  const clients = new Map<DescService, Client<DescService>>();
  // The deadline header of the protocol, sent without a client-side deadline (CallOptions.serverTimeoutMs).
  const callOptions = (o: CallOptions | undefined) => {
    if (o?.serverTimeoutMs === undefined) return o ?? {};
    const ms = Math.max(1, Math.round(o.serverTimeoutMs));
    return { ...o, headers: { ...o.headers, ...(protocol === "connect" ? { "connect-timeout-ms": String(ms) } : { "grpc-timeout": `${ms}m` }) } };
  };
  const clientFor = (m: DescMethod) => {
    let c = clients.get(m.parent);
    if (!c) clients.set(m.parent, (c = createClient(m.parent, transport)));
    return c as unknown as Record<string, (req: unknown, opts: object) => never>;
  };
  return {
    protocol,
    async unary(method, request, options) {
      try {
        return await clientFor(method)[method.localName]!(request, callOptions(options));
      } catch (err) {
        throw toFailure(err);
      }
    },
    serverStream(method, request, options) {
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* clientFor(method)[method.localName]!(request, callOptions(options)) as AsyncIterable<never>;
          } catch (err) {
            throw toFailure(err);
          }
        },
      };
    },
    async unaryUnknownMethod(service, name, options) {
      // The transport builds the URL from the descriptor's parent type name and method name,
      // so a renamed copy of any unary method addresses a method the server does not have.
      const any = (await import("@oma/client/gen/oma/v1/server_info_service_pb.js")).ServerInfoService.method.getServerInfo;
      const fake = { ...any, name, parent: { ...any.parent, typeName: service } } as DescMethodUnary<DescMessage, DescMessage>;
      try {
        await transport.unary(fake, options?.signal, options?.timeoutMs, undefined, {});
      } catch (err) {
        throw toFailure(err);
      }
    },
    close() {},
  };
}

function toFailure(err: unknown): RpcFailure {
  const e = ConnectError.from(err);
  const info = e.findDetails(ErrorInfoSchema)[0];
  const badRequest = e.findDetails(BadRequestSchema)[0];
  const code = e.code === Code.Canceled ? 1 : e.code;
  return new RpcFailure(
    code,
    e.rawMessage,
    info?.reason ?? "",
    info?.domain ?? "",
    { ...(info?.metadata ?? {}) },
    badRequest?.fieldViolations.map((v) => v.field) ?? [],
  );
}
