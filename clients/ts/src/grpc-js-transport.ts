// A connect-es Transport whose bytes move through @grpc/grpc-js: the SDK's one client
// stack (createOmaClient, its interceptors, retries and errors) over Node's gRPC transport.
import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Interceptor, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { createMethodUrl, getAbortSignalReason, runStreamingCall, runUnaryCall } from "@connectrpc/connect/protocol";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";

export interface GrpcJsTransportOptions {
  /** http://host:port or https://host:port; the channel's when `channel` is given. */
  baseUrl?: string;
  /** A channel shared with other transports; by default the transport opens one of its own. */
  channel?: GrpcJsChannel;
  interceptors?: Interceptor[];
}

/** Request headers the gRPC transport itself sets; never passed as metadata. */
const TRANSPORT_HEADERS = new Set(["content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "user-agent", "connect-protocol-version"]);
const passThrough = (b: Buffer): Buffer => b;

/**
 * One @grpc/grpc-js channel to a server: its HTTP/2 connection (reconnected when it drops),
 * name resolution and call bookkeeping. Transports made with it share all of that; a
 * process that opens a client per task (a brain worker opens one per session, each with
 * that session's token) opens one channel, and `close` frees it. A channel that is never
 * closed stays registered in grpc-js for the life of the process.
 */
export class GrpcJsChannel {
  /** @internal */
  readonly client: grpc.Client;

  constructor(readonly baseUrl: string) {
    const url = new URL(baseUrl);
    const credentials = url.protocol === "https:" ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    this.client = new grpc.Client(`${url.hostname}:${port}`, credentials, {
      // Unbounded messages in both directions, as the other transports (the server enforces its own bounds).
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      // A server that comes back is reached again within a second (grpc-js waits up to 2 minutes
      // by default); the SDK's retries pace the calls themselves.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
    });
  }

  /** Closes the connection; calls in flight end, and later calls fail (UNAVAILABLE). */
  close(): void {
    this.client.close();
  }
}

/** Creates a Transport for the gRPC protocol over a @grpc/grpc-js channel: `channel`, or one of its own for `baseUrl`. */
export function createGrpcJsTransport(options: GrpcJsTransportOptions): Transport {
  if (options.channel && options.baseUrl !== undefined && options.baseUrl !== options.channel.baseUrl) {
    throw new TypeError(`createGrpcJsTransport: baseUrl ${options.baseUrl} is not the channel's (${options.channel.baseUrl})`);
  }
  if (!options.channel && !options.baseUrl) throw new TypeError("createGrpcJsTransport: `baseUrl` or `channel` is required");
  const channel = options.channel ?? new GrpcJsChannel(options.baseUrl!);
  const { client, baseUrl } = channel;
  const pathOf = (method: { parent: { typeName: string }; name: string }) => `/${method.parent.typeName}/${method.name}`;
  const callOptions = (timeoutMs: number | undefined): grpc.CallOptions => (timeoutMs !== undefined ? { deadline: Date.now() + timeoutMs } : {});
  const normalTimeout = (timeoutMs: number | undefined) => (timeoutMs === undefined || timeoutMs <= 0 ? undefined : timeoutMs);

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      timeoutMs = normalTimeout(timeoutMs);
      return runUnaryCall({
        interceptors: options.interceptors,
        signal,
        timeoutMs,
        req: { stream: false, service: method.parent, method, requestMethod: "POST", url: createMethodUrl(baseUrl, method), header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: input },
        next: (req) =>
          new Promise<UnaryResponse<typeof method.input, typeof method.output>>((resolve, reject) => {
            const responseHeader = new Headers();
            const trailer = new Headers();
            const call = client.makeUnaryRequest(
              pathOf(method),
              passThrough,
              passThrough,
              Buffer.from(toBinary(method.input, req.message)),
              toMetadata(req.header),
              callOptions(timeoutMs),
              (err, bytes) => {
                req.signal.removeEventListener("abort", cancel);
                if (req.signal.aborted) return reject(ConnectError.from(getAbortSignalReason(req.signal), Code.Canceled));
                if (err) return reject(errorOf(err, responseHeader));
                try {
                  resolve({ stream: false, service: method.parent, method, header: responseHeader, message: fromBinary(method.output, bytes!), trailer });
                } catch (e) {
                  reject(ConnectError.from(e, Code.Internal));
                }
              },
            );
            const cancel = () => call.cancel();
            req.signal.addEventListener("abort", cancel, { once: true });
            call.on("metadata", (m: grpc.Metadata) => copyInto(responseHeader, m));
            call.on("status", (s: grpc.StatusObject) => copyInto(trailer, s.metadata));
          }),
      });
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      timeoutMs = normalTimeout(timeoutMs);
      return runStreamingCall({
        interceptors: options.interceptors,
        signal,
        timeoutMs,
        req: { stream: true, service: method.parent, method, requestMethod: "POST", url: createMethodUrl(baseUrl, method), header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: input },
        next: async (req) => {
          const call = client.makeBidiStreamRequest(pathOf(method), passThrough, passThrough, toMetadata(req.header), callOptions(timeoutMs));
          const responseHeader = new Headers();
          const trailer = new Headers();
          // Read no further ahead than the caller: a slow reader slows the server (HTTP/2 flow control).
          const messages = new MessageQueue<Buffer>(() => call.pause(), () => call.resume());
          const cancel = () => call.cancel();
          req.signal.addEventListener("abort", cancel, { once: true });
          call.on("data", (b: Buffer) => messages.push(b));
          call.on("status", (s: grpc.StatusObject) => {
            copyInto(trailer, s.metadata);
            req.signal.removeEventListener("abort", cancel);
            if (s.code === grpc.status.OK) messages.end();
            else messages.fail(req.signal.aborted ? ConnectError.from(getAbortSignalReason(req.signal), Code.Canceled) : errorOf({ code: s.code, details: s.details, metadata: s.metadata }, responseHeader));
          });
          call.on("error", () => undefined); // its status says why
          // The headers come before the first message, or the status ends a call without any.
          const headersIn = new Promise<void>((resolve) => {
            call.once("metadata", (m: grpc.Metadata) => {
              copyInto(responseHeader, m);
              resolve();
            });
            call.once("status", () => resolve());
          });
          void sendAll(call, method.input, req.message).catch((err: unknown) => {
            call.cancel();
            messages.fail(ConnectError.from(err));
          });
          await headersIn;
          const output = method.output;
          async function* decoded() {
            for await (const bytes of messages) yield fromBinary(output, bytes);
          }
          return { ...req, header: responseHeader, trailer, message: decoded() } as StreamResponse<typeof method.input, typeof method.output>;
        },
      });
    },
  };
}

async function sendAll(call: grpc.ClientDuplexStream<Buffer, Buffer>, schema: DescMessage, input: AsyncIterable<unknown>): Promise<void> {
  for await (const message of input) {
    const bytes = Buffer.from(toBinary(schema, message as never));
    if (!call.write(bytes)) await new Promise<void>((resolve) => call.once("drain", () => resolve()));
  }
  call.end();
}

/** Messages a stream reads ahead of its caller before it pauses. */
const READ_AHEAD = 8;

/** A pushed-to async iterable: messages in order, then the end or an error; it pauses its source while READ_AHEAD messages wait. */
class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private paused = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length >= READ_AHEAD && !this.paused) {
      this.paused = true;
      this.pause();
    }
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  fail(err: unknown): void {
    if (this.ended) return;
    this.error = err;
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.paused && !this.ended) {
        this.paused = false;
        this.resume();
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

function toMetadata(header: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  header.forEach((value, key) => {
    if (TRANSPORT_HEADERS.has(key)) return;
    if (key.endsWith("-bin")) for (const v of value.split(",")) metadata.add(key, Buffer.from(v.trim(), "base64"));
    else metadata.add(key, value);
  });
  return metadata;
}

function copyInto(target: Headers, metadata: grpc.Metadata): void {
  for (const [key, values] of Object.entries(metadata.getMap())) {
    for (const v of metadata.get(key)) target.append(key, Buffer.isBuffer(v) ? v.toString("base64").replace(/=+$/, "") : v);
    void values;
  }
}

/** A failed call as the Connect gRPC transport reports it: code, message, details from grpc-status-details-bin, metadata. */
function errorOf(err: { code?: number; details?: string; metadata?: grpc.Metadata }, header: Headers): ConnectError {
  const trailer = new Headers(header);
  if (err.metadata) copyInto(trailer, err.metadata);
  trailer.set("grpc-status", String(err.code ?? Code.Unknown));
  trailer.set("grpc-message", encodeURIComponent(err.details ?? ""));
  return findTrailerError(trailer) ?? new ConnectError(err.details ?? "", (err.code ?? Code.Unknown) as Code, trailer);
}
