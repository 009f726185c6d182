import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { tempDir } from "./temp-dir.js";

/** Why a NATS cluster cannot be started here, or undefined when nats-server is installed. */
export function natsUnavailable(): string | undefined {
  const found = (process.env["PATH"] ?? "").split(delimiter).some((dir) => dir !== "" && isExecutable(join(dir, "nats-server")));
  return found ? undefined : "nats-server is not installed (scripts/setup-system installs it)";
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
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

interface Node {
  readonly name: string;
  readonly clientPort: number;
  readonly configFile: string;
  process: ChildProcess | undefined;
}

/**
 * Real nats-server processes with JetStream on loopback, clustered, each with its own
 * store directory under one temp dir; `stop()` kills them and removes the dir.
 */
export class NatsCluster {
  readonly #nodes: Node[];
  readonly #dir: { path: string; remove(): Promise<void> };

  private constructor(nodes: Node[], dir: { path: string; remove(): Promise<void> }) {
    this.#nodes = nodes;
    this.#dir = dir;
  }

  /** Starts `size` nodes (3 gives R3 streams a quorum that survives one node) and waits for JetStream. */
  static async start(size = 3): Promise<NatsCluster> {
    const dir = await tempDir("oma-nats-");
    const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
    const routes = Array.from({ length: size }, (_, i) => `nats-route://127.0.0.1:${ports[size + i]}`);
    const nodes: Node[] = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      const configFile = join(dir.path, `${name}.conf`);
      const config = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${ports[i]}`,
        // A batch of the default max_batch_bytes (1 MiB) is one message of about 1.4 MB.
        `max_payload: 2MB`,
        `jetstream { store_dir: "${join(dir.path, name)}", max_memory_store: 64MB, max_file_store: 1GB }`,
        size > 1 ? `cluster { name: oma, listen: 127.0.0.1:${ports[size + i]}, routes: [${routes.filter((_, j) => j !== i).join(", ")}] }` : "",
      ].join("\n");
      await writeFile(configFile, config);
      nodes.push({ name, clientPort: ports[i]!, configFile, process: undefined });
    }
    const cluster = new NatsCluster(nodes, dir);
    for (let i = 0; i < size; i++) cluster.#spawn(i);
    await cluster.waitReady();
    return cluster;
  }

  /** `nats://…` URLs of every node, comma-separated, as `oma serve --store` takes them. */
  get url(): string {
    return this.#nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`).join(",");
  }

  get size(): number {
    return this.#nodes.length;
  }

  /** SIGKILLs node i. */
  async kill(i: number): Promise<void> {
    const child = this.#nodes[i]!.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    this.#nodes[i]!.process = undefined;
  }

  /** Starts node i again on its own store directory. */
  restart(i: number): void {
    this.#spawn(i);
  }

  /** Resolves once the cluster can place a stream with a replica on every node. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const nc = await connect({ servers: this.url.split(","), timeout: 1000, reconnect: false });
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2000 });
          const probe = `READY_${process.pid}_${Date.now()}`;
          await jsm.streams.add({ name: probe, subjects: [`ready.${probe}`], num_replicas: this.#nodes.length, storage: StorageType.Memory });
          await jsm.streams.delete(probe);
          return;
        } finally {
          await nc.close();
        }
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`NATS cluster did not become ready: ${String(lastError)}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((_, i) => this.kill(i)));
    await this.#dir.remove();
  }

  #spawn(i: number): void {
    const node = this.#nodes[i]!;
    const child = spawn("nats-server", ["-c", node.configFile], { stdio: "ignore" });
    node.process = child;
    // A test process that ends without stop() (a timeout, an uncaught error) takes its nodes with it.
    const onExit = () => child.kill("SIGKILL");
    process.once("exit", onExit);
    child.once("exit", () => process.off("exit", onExit));
  }
}

/**
 * The vault key (OMA_VAULT_KEY) every OMA server on a test cluster is started with: the
 * servers of one store must share it, and the run's cluster is shared by every test file.
 */
export const TEST_VAULT_KEY = "0".repeat(62) + "7e";
