import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { bearerAuth } from "@oma/client";
import { readFile } from "node:fs/promises";
import type { DescService } from "@bufbuild/protobuf";
import type { HarnessOptions } from "../harness/harness-options.js";
import { startApp, type RunningApp } from "../app.js";
import { defaultLimits, type ServerLimits } from "../limits.js";
import { createLogger, type Logger } from "../logger.js";
import { TEST_VAULT_KEY } from "./nats-cluster.js";
import { removeDataDir } from "./remove-data-dir.js";
import { tempDir } from "./temp-dir.js";

export interface TestApp extends RunningApp {
  readonly dataDir: string;
  /** The admin token the server wrote to its data directory; "" with auth "none". */
  readonly adminToken: string;
  /** gRPC over HTTP/2 to this server, with the admin token. */
  readonly grpc: Transport;
  /** Connect over HTTP/1.1 to this server, with the admin token. */
  readonly connect: Transport;
  /** A gRPC transport that sends `token` (none when undefined). */
  transport(token: string | undefined, protocol?: "grpc" | "connect"): Transport;
  client<T extends DescService>(service: T, transport?: Transport): Client<T>;
  /** Closes the server and deletes its data. */
  stop(): Promise<void>;
}

/** The real server (startApp) on port 0 with a fresh data directory, over real sockets. */
export async function startTestApp(
  options: { dataDir?: string; limits?: Partial<ServerLimits>; harness?: Partial<HarnessOptions>; auth?: "tokens" | "none"; logger?: Logger; sandboxBackend?: string; allowLoopbackUpstreams?: boolean; store?: string; vaultKey?: string } = {},
): Promise<TestApp> {
  const dir = options.dataDir ? undefined : await tempDir("oma-app-");
  const dataDir = options.dataDir ?? dir!.path;
  const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", limits: { ...defaultLimits, ...options.limits }, harness: options.harness, auth: options.auth, sandboxBackend: options.sandboxBackend, allowLoopbackUpstreams: options.allowLoopbackUpstreams, ...(options.store ? { store: options.store, vaultKey: options.vaultKey ?? TEST_VAULT_KEY } : {}), logger: options.logger ?? createLogger({ level: process.env["OMA_TEST_LOG_LEVEL"] ?? "silent" }) });
  const adminToken = app.adminTokenFile ? (await readFile(app.adminTokenFile, "utf8")).trim() : "";
  const transport = (token: string | undefined, protocol: "grpc" | "connect" = "grpc") => {
    const interceptors: Interceptor[] = token ? [bearerAuth(token)] : [];
    return protocol === "grpc" ? createGrpcTransport({ baseUrl: app.url, interceptors }) : createConnectTransport({ baseUrl: app.url, httpVersion: "1.1", interceptors });
  };
  const grpc = transport(adminToken || undefined);
  const connect = transport(adminToken || undefined, "connect");
  return {
    ...app,
    dataDir,
    adminToken,
    grpc,
    connect,
    transport,
    client: (service, transport) => createClient(service, transport ?? grpc),
    async stop() {
      await app.close();
      if (dir) await removeDataDir(dir.path);
    },
  };
}
