import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions, RpcClient } from "./rpc-client.js";
import { decodeStatusDetails } from "./rpc-status.js";
import { RpcFailure } from "./rpc-failure.js";

/**
 * An RpcClient on @grpc/grpc-js: a gRPC stack independent of the reference server's.
 * Method paths and codecs come straight from the protobuf-es descriptors.
 */
export function createGrpcJsClient(target: string, token?: string): RpcClient {
  const url = new URL(target);
  const credentials = url.protocol === "https:" ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const client = new grpc.Client(`${url.hostname}:${port}`, credentials, {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });

  const path = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;
  const callOptions = (o?: CallOptions): grpc.CallOptions =>
    o?.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + o.timeoutMs) };
  const serializer = (schema: DescMessage) => (msg: MessageShape<DescMessage>) => Buffer.from(toBinary(schema, msg));
  const deserializer = (schema: DescMessage) => (buf: Buffer) => fromBinary(schema, buf);
  const metadata = (o?: CallOptions) => {
    const m = new grpc.Metadata();
    if (token) m.set("authorization", `Bearer ${token}`);
    for (const [name, value] of Object.entries(o?.headers ?? {})) m.set(name, value);
    // Without a deadline of its own, grpc-js sends the metadata's grpc-timeout as it is.
    if (o?.serverTimeoutMs !== undefined) m.set("grpc-timeout", `${Math.max(1, Math.round(o.serverTimeoutMs))}m`);
    return m;
  };

  return {
    protocol: "grpc",
    unary(method, request, options) {
      const input = create(method.input as DescMessage, request as MessageInitShape<DescMessage>);
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          path(method),
          serializer(method.input),
          deserializer(method.output),
          input,
          metadata(options),
          callOptions(options),
          (err, value) => (err ? reject(toFailure(err)) : resolve(value as never)),
        );
        options?.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
    },
    serverStream(method, request, options) {
      const input = create(method.input as DescMessage, request as MessageInitShape<DescMessage>);
      return {
        async *[Symbol.asyncIterator]() {
          const call = client.makeServerStreamRequest(
            path(method),
            serializer(method.input),
            deserializer(method.output),
            input,
            metadata(options),
            callOptions(options),
          );
          const onAbort = () => call.cancel();
          options?.signal?.addEventListener("abort", onAbort, { once: true });
          try {
            for await (const message of call) yield message as never;
          } catch (err) {
            throw toFailure(err);
          } finally {
            options?.signal?.removeEventListener("abort", onAbort);
            call.cancel();
          }
        },
      };
    },
    bidiStream(method, requests, options) {
      return {
        async *[Symbol.asyncIterator]() {
          const call = client.makeBidiStreamRequest(path(method), serializer(method.input), deserializer(method.output), metadata(options), callOptions(options));
          const onAbort = () => call.cancel();
          options?.signal?.addEventListener("abort", onAbort, { once: true });
          // Requests go out as the case yields them, while responses come back.
          const sending = (async () => {
            for await (const request of requests) {
              if (!call.write(create(method.input as DescMessage, request as MessageInitShape<DescMessage>))) await new Promise((r) => call.once("drain", r));
            }
            call.end();
          })();
          sending.catch(() => call.cancel());
          try {
            for await (const message of call) yield message as never;
          } catch (err) {
            throw toFailure(err);
          } finally {
            options?.signal?.removeEventListener("abort", onAbort);
            call.cancel();
          }
        },
      };
    },
    unaryUnknownMethod(service, method, options) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          `/${service}/${method}`,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => b,
          new Uint8Array(0),
          metadata(),
          callOptions(options),
          (err) => (err ? reject(toFailure(err)) : resolve()),
        );
      });
    },
    close: () => client.close(),
  };
}

function toFailure(err: unknown): RpcFailure {
  if (err instanceof RpcFailure) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code !== "number") return new RpcFailure(2, String((err as Error)?.message ?? err), "", "", {}, []);
  const raw = e.metadata?.get("grpc-status-details-bin")[0];
  if (raw instanceof Buffer) {
    const s = decodeStatusDetails(raw);
    return new RpcFailure(e.code, e.details ?? s.message, s.reason, s.domain, s.metadata, s.badRequestFields);
  }
  return new RpcFailure(e.code, e.details ?? "", "", "", {}, []);
}
