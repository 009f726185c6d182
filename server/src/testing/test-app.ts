import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import type { HarnessOptions } from "../harness/harness-options.js";
import { startApp, type RunningApp } from "../app.js";
import { defaultLimits, type ServerLimits } from "../limits.js";
import { createLogger } from "../logger.js";
import { tempDir } from "./temp-dir.js";

export interface TestApp extends RunningApp {
  readonly dataDir: string;
  /** gRPC over HTTP/2 to this server. */
  readonly grpc: Transport;
  /** Connect over HTTP/1.1 to this server. */
  readonly connect: Transport;
  client<T extends DescService>(service: T, transport?: Transport): Client<T>;
  /** Closes the server and deletes its data. */
  stop(): Promise<void>;
}

/** The real server (startApp) on port 0 with a fresh data directory, over real sockets. */
export async function startTestApp(
  options: { dataDir?: string; limits?: Partial<ServerLimits>; harness?: Partial<HarnessOptions> } = {},
): Promise<TestApp> {
  const dir = options.dataDir ? undefined : await tempDir("oma-app-");
  const dataDir = options.dataDir ?? dir!.path;
  const app = await startApp({ dataDir, port: 0, host: "127.0.0.1", limits: { ...defaultLimits, ...options.limits }, harness: options.harness, logger: createLogger({ level: process.env["OMA_TEST_LOG_LEVEL"] ?? "silent" }) });
  const grpc = createGrpcTransport({ baseUrl: app.url });
  const connect = createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" });
  return {
    ...app,
    dataDir,
    grpc,
    connect,
    client: (service, transport) => createClient(service, transport ?? grpc),
    async stop() {
      await app.close();
      await dir?.remove();
    },
  };
}
