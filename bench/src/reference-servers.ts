/**
 * The reference servers of the transport comparison, each a process of its own like the OMA
 * server: a bare grpc-js no-op server and a single-node NATS JetStream with file storage.
 */
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { tempDir } from "@oma/server/dist/testing/temp-dir.js";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { UnaryTarget } from "./grpc-load.js";

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** Starts grpc-noop-server.js as a child process; resolves with its address once it listens. */
export async function startGrpcNoop(): Promise<{ address: string; pid: number; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL("./grpc-noop-server.js", import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^LISTENING (\d+)$/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`grpc no-op server exited with ${String(code)}`)));
  });
  return { address: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

/** Why JetStream cannot be measured here, or undefined when nats-server runs. */
export function natsServerMissing(): string | undefined {
  const probe = spawnSync("nats-server", ["--version"], { stdio: "ignore" });
  return probe.status === 0 ? undefined : "nats-server is not installed (scripts/setup-system installs it)";
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * One nats-server with JetStream on loopback, file storage in a temp dir (the server's
 * default sync policy), and a stream over `bench.>`: `call(w)` publishes `payload` to
 * `bench.s<w % 8>` and resolves on JetStream's acknowledgement.
 */
export async function startJetStream(payload: Uint8Array): Promise<UnaryTarget & { pid: number; stop(): Promise<void> }> {
  const dir = await tempDir("oma-bench-nats-");
  const port = await freePort();
  const child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir.path], { stdio: "ignore" });
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  let nc: NatsConnection | undefined;
  for (let attempt = 0; !nc; attempt++) {
    try {
      nc = await connect({ servers: `127.0.0.1:${port}`, timeout: 1000, reconnect: false });
    } catch (err) {
      if (attempt > 50) throw err;
      await sleep(100);
    }
  }
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "BENCH", subjects: ["bench.>"], storage: StorageType.File });
  const js = jetstream(nc);
  const subjects = Array.from({ length: 8 }, (_, i) => `bench.s${i}`);
  const conn = nc;
  return {
    pid: child.pid!,
    call: (w) => js.publish(subjects[w % 8]!, payload),
    close: () => undefined,
    stop: async () => {
      await conn.close();
      await stopChild(child);
      process.off("exit", onExit);
      await dir.remove();
    },
  };
}
