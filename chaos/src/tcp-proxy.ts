import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of the server for the workers that "run on another machine": it
 * forwards bytes both ways until told to stall (stop forwarding, connections kept open,
 * as a partition does) or to reset (every connection dropped at once).
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #target: { host: string; port: number };
  #stalled = false;
  #stalledPending: { socket: Socket; data: Buffer }[] = [];

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    server.on("connection", (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Stops forwarding: bytes wait, connections stay open (peers see silence, not an error). */
  stall(): void {
    this.#stalled = true;
  }

  /** Forwards again, delivering what waited in order. */
  resume(): void {
    this.#stalled = false;
    const pending = this.#stalledPending;
    this.#stalledPending = [];
    for (const { socket, data } of pending) if (!socket.destroyed) socket.write(data);
  }

  /** Drops every connection at once, as a peer's reset does. */
  reset(): void {
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.#pairs.clear();
    this.#stalledPending = [];
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const upstream = connect(this.#target.port, this.#target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (data: Buffer) => {
        if (this.#stalled) this.#stalledPending.push({ socket: to, data });
        else if (!to.destroyed) to.write(data);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  }
}
