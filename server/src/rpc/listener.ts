import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { DescMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { HttpRoute } from "../http/http-routes.js";
import { connectNodeHandler, type RoutedService } from "./connect-adapter.js";
import { createGrpcEdge } from "./grpc-edge.js";
import { replaySocket } from "./replay-socket.js";

/** gRPC proper (application/grpc, application/grpc+proto), not gRPC-Web. */
const isGrpc = (type: string | undefined): boolean => type !== undefined && type.startsWith("application/grpc") && !type.startsWith("application/grpc-web");

/** A service and its (possibly partial) implementation; missing methods answer UNIMPLEMENTED. */
export type ServedService = RoutedService;

export interface ListenOptions {
  readonly services: readonly ServedService[];
  readonly interceptors: readonly Interceptor[];
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Largest accepted request message, bytes (protects the server from huge bodies). */
  readonly readMaxBytes: number;
  readonly logger: Logger;
  /**
   * Message kinds that remember the bytes they arrived as over gRPC (request-decoding.ts):
   * the events of appends, whose received form the log stores.
   */
  readonly rememberReceived?: readonly DescMessage[];
  /** Plain HTTP routes tried before the RPC handler (the inspector page, /metrics); RPC paths are never theirs. */
  readonly httpRoutes?: HttpRoute;
}

export interface Listening {
  readonly port: number;
  readonly host: string;
  /** Base URL for clients, e.g. http://127.0.0.1:7070. */
  readonly url: string;
  /** Stops accepting, ends open streams and resolves when the socket is closed. */
  close(): Promise<void>;
}

/**
 * One port for gRPC, gRPC-Web and Connect: HTTP/2 with prior knowledge, and HTTP/1.1 for
 * Connect and gRPC-Web clients that cannot speak h2c. gRPC streams are served by
 * @grpc/grpc-js (grpc-edge.ts: a third of connect-node's cost per call), the rest by
 * connect-node.
 */
export async function listen(options: ListenOptions): Promise<Listening> {
  const rpc = connectNodeHandler(options);
  const grpcEdge = createGrpcEdge(options);
  const routes = options.httpRoutes;
  const handler: typeof rpc = routes ? (req, res) => void (routes(req, res) || rpc(req, res)) : rpc;
  // Each HTTP/2 stream goes by its content type: gRPC to @grpc/grpc-js, everything else
  // (Connect, gRPC-Web, the plain HTTP routes) to connect-node's request handler, served by
  // an HTTP/2 server that never listens and only sees the streams handed to it.
  const connectH2 = http2.createServer(handler);
  const h2 = http2.createServer();
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    if (isGrpc(headers["content-type"])) grpcEdge.handleStream(stream, headers, flags, rawHeaders);
    else connectH2.emit("stream", stream, headers, flags, rawHeaders);
  });
  const h1 = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.once("close", () => h2Sessions.delete(session));
  });
  // Node's plaintext HTTP/2 server cannot fall back to HTTP/1.1, so one TCP listener
  // looks at the first bytes of each connection: the HTTP/2 preface starts with "PRI".
  // No Nagle: replies are small writes (headers, message, trailers) that must not wait for
  // the peer's delayed ACK (40 ms). http.createServer would do this, but it never sees the
  // accept: this listener hands it the socket.
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 3) return;
      socket.off("data", onData);
      socket.pause();
      if (head.subarray(0, 3).toString("latin1") === "PRI") {
        socket.unshift(head);
        // HTTP/2 feeds the unshifted bytes to its session from the paused stream.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", replaySocket(socket, head));
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    port: address.port,
    host: address.address,
    url: `http://${hostForUrl === "0.0.0.0" ? "127.0.0.1" : hostForUrl}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          grpcEdge.close();
          resolve();
        });
        // HTTP/2 peers get a GOAWAY; streams that do not end by themselves (watches)
        // are cut after a grace period.
        for (const session of h2Sessions) session.close();
        h1.closeIdleConnections();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 2000).unref();
      }),
  };
}
