import { Duplex } from "node:stream";
import type { Socket } from "node:net";

/**
 * A stream over `socket` that first yields `head` (bytes already read from it). Node's
 * HTTP/1.1 server reads a raw socket's native handle directly and would miss bytes that
 * were read to sniff the protocol; over this plain stream it sees them all.
 */
export function replaySocket(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  stream.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.once("end", () => stream.push(null));
  socket.once("close", () => stream.destroy());
  for (const key of ["remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"] as const) {
    Object.defineProperty(stream, key, { get: () => socket[key] });
  }
  Object.assign(stream, { setTimeout: socket.setTimeout.bind(socket), setNoDelay: socket.setNoDelay.bind(socket), setKeepAlive: socket.setKeepAlive.bind(socket) });
  return stream;
}
