/**
 * One load generator for every unary target of the transport comparison: a `@grpc/grpc-js`
 * channel (one HTTP/2 connection) sending pre-encoded request bytes, so that the client's
 * own cost is the same whichever server answers.
 */
import * as grpc from "@grpc/grpc-js";
import { performance } from "node:perf_hooks";

export interface UnaryTarget {
  /** One call; resolves when the answer is in. */
  call(worker: number): Promise<unknown>;
  close(): void;
}

const passThrough = (b: Buffer): Buffer => b;

/** Calls `path` on `address` (host:port) with `requests[worker % n]` and the given metadata. */
export function grpcTarget(address: string, path: string, requests: readonly Uint8Array[], headers: Record<string, string> = {}): UnaryTarget {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const bodies = requests.map((r) => Buffer.from(r));
  return {
    call: (worker) =>
      new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest(path, passThrough, passThrough, bodies[worker % bodies.length]!, metadata, (err, res) => (err ? reject(err) : resolve(res!)));
      }),
    close: () => client.close(),
  };
}

/** Calls `op` from `concurrency` loops for `ms`; returns completed calls per second. */
export async function callsPerSecond(concurrency: number, op: (worker: number) => Promise<unknown>, ms: number): Promise<number> {
  const { calls, seconds } = await callsFor(concurrency, op, ms);
  return calls / seconds;
}

/** Calls `op` from `concurrency` loops for `ms`; returns how many calls completed and in how long. */
export async function callsFor(concurrency: number, op: (worker: number) => Promise<unknown>, ms: number): Promise<{ calls: number; seconds: number }> {
  let calls = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        calls++;
      }
    }),
  );
  return { calls, seconds: (performance.now() - start) / 1000 };
}

/** Latency of `op` one call at a time, for `ms`; every sample in milliseconds. */
export async function serialLatencies(op: (worker: number) => Promise<unknown>, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    await op(0);
    samples.push(performance.now() - t);
  }
  return samples;
}
