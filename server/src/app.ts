import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { ClassicLevel } from "classic-level";
import { defaultLimits, type ServerLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { Db, PartContext, ServerPart } from "./part.js";
import { StorageHealth } from "./store/storage-health.js";
import { Paging, pageTokenSecret } from "./rpc/paging.js";
import { startOmaServer } from "./server.js";
import { openSessionPart } from "./session/session-part.js";
import { openSandboxPart } from "./sandbox/sandbox-part.js";
import { openHarnessPart } from "./harness/harness-part.js";
import type { HarnessOptions } from "./harness/harness-options.js";
import { openAuthPart, openTokenStore } from "./auth/auth-part.js";
import type { AuthMode } from "./auth/authenticate.js";
import { httpRoutes, madeOnFirstRequest, prefixRoute } from "./http/http-routes.js";
import { metricsRoute } from "./http/metrics-route.js";
import { inspectorRoute } from "./http/inspector-route.js";
import { OmaMetrics } from "./telemetry/metrics.js";
import { openVaultPart } from "./vault/vault-part.js";
import { GatewayAudit } from "./gateway/gateway-audit.js";
import { SandboxGateways } from "./gateway/sandbox-gateway.js";
import { mcpCredentialCheck } from "./mcp/mcp-credentials.js";
import { MCP_PATH_PREFIX } from "./mcp/mcp-paths.js";
import { UpstreamClients } from "./mcp/upstream-clients.js";
import type { Listener, OutboundPolicy } from "./gateway/outbound-policy.js";

export interface AppConfig {
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly limits?: ServerLimits;
  /** Default sandbox backend; unset: env OMA_SANDBOX_BACKEND, else the best that works. */
  readonly sandboxBackend?: string;
  /** Harness dispatch timings (lease TTL, sweep interval); defaults in harness/harness-options.ts. */
  readonly harness?: Partial<HarnessOptions>;
  /** "tokens" (default): every call needs a bearer token. "none": development only. */
  readonly auth?: AuthMode;
  /**
   * Fault injection for conformance testing, never for production: every synced write of
   * the session log is held this long before it starts and after it is durable (SESS-5).
   */
  readonly faultStorageDelayMs?: number;
  /** The server's metrics registry; a fresh one by default. */
  readonly metrics?: OmaMetrics;
  /** Trace every RPC: set when an OpenTelemetry SDK was started (telemetry/tracing.ts). */
  readonly tracing?: boolean;
  /**
   * Let the proxies (repositories, MCP servers, allow-listed hosts) reach this machine's
   * loopback. Default false: a tenant's recipe could otherwise reach the server's own
   * machine. Tests and single-user development turn it on.
   */
  readonly allowLoopbackUpstreams?: boolean;
  /**
   * `nats://host:port[,nats://…]`: the session log, tokens and credentials on that JetStream
   * cluster, shared with every server given the same URL; unset: on this server's LevelDB.
   */
  readonly store?: string;
  /**
   * With `store`: the URL other servers of the system reach this one at, to forward calls
   * for its sandboxes; default: the URL it listens on.
   */
  readonly advertiseUrl?: string;
  /** The vault key as OMA_VAULT_KEY gives it (default: the environment's); required with `store`. */
  readonly vaultKey?: string;
}

export interface RunningApp {
  /** Base URL of the RPC server. */
  readonly url: string;
  readonly port: number;
  /** `<dataDir>/admin.token`, holding an admin token; undefined with auth "none". */
  readonly adminTokenFile: string | undefined;
  /** Requests the sandboxes' gateways refused since start, by reason (what operators count). */
  gatewayDenials(): ReadonlyMap<string, number>;
  /** A pool worker token for the workers this server starts itself; undefined with auth "none". */
  localWorkerToken(): Promise<string | undefined>;
  /**
   * Stops handing out and re-waking brains, while every RPC is still served: the first
   * step of a shutdown, so that brains which stop and release their leases now are
   * resumed by the next server instead of being queued here.
   */
  stopDispatching(): Promise<void>;
  /** Where the session log is kept: "leveldb" or "jetstream". */
  readonly sessionStore: string;
  /** Stops the server and closes every part and the database. */
  close(): Promise<void>;
}

/**
 * The composition root: opens LevelDB and each part, then serves them on one port.
 * `oma serve` and the end-to-end tests both start the server through here.
 */
export async function startApp(config: AppConfig): Promise<RunningApp> {
  const limits = config.limits ?? defaultLimits;
  await mkdir(join(config.dataDir, "leveldb"), { recursive: true });
  const db: Db = new ClassicLevel<string, Uint8Array>(join(config.dataDir, "leveldb"), { valueEncoding: "view" });
  await db.open();
  const parts: Pick<ServerPart, "features" | "close">[] = [];
  const closeAll = async () => {
    for (const part of parts.reverse()) await part.close();
    await db.close();
  };
  try {
    const storage = new StorageHealth();
    storage.onFailure((failure) => config.logger.error({ err: failure.cause, reason: failure.reason }, "!!! storage failed: no write is accepted and grpc.health reports NOT_SERVING until the server is restarted (SESS-21)"));
    const metrics = config.metrics ?? new OmaMetrics();
    // Tokens first: page tokens are signed with their store's key.
    const tokens = await openTokenStore(db, storage, config.store);
    parts.push({ features: [], close: () => tokens.close() });
    const paging = new Paging(pageTokenSecret(await tokens.signingKey()), limits.maxPageSize);
    const ctx: PartContext = { dataDir: config.dataDir, logger: config.logger, limits, paging, storage, metrics };
    // Parts are added here as they exist: tokens, vault, sandboxes, session log, harness dispatch.
    const auth = await openAuthPart(tokens, ctx, { mode: config.auth ?? "tokens" });
    parts.push(auth);
    const sessionTokens = auth.authenticator.mode === "tokens" ? auth.sessionTokens : undefined;
    const vault = await openVaultPart(db, ctx, { ...(config.store ? { storeUrl: config.store } : {}), ...(config.vaultKey ? { env: { OMA_VAULT_KEY: config.vaultKey } } : {}) });
    parts.push(vault);
    if (config.faultStorageDelayMs) config.logger.warn({ delayMs: config.faultStorageDelayMs }, "!!! fault injection: every write of the session log is delayed (conformance testing only)");
    let ownListener: Listener = { address: config.host, port: config.port };
    const outbound: OutboundPolicy = { allowLoopback: config.allowLoopbackUpstreams ?? false, ownListeners: () => [ownListener] };
    const upstreamMcp = new UpstreamClients(outbound);
    parts.push({ features: ["harness.mcp"], close: () => upstreamMcp.close() });
    const gateways = new SandboxGateways({ vault: vault.vault, policy: outbound, audit: new GatewayAudit(config.logger.child({ part: "gateway" })), logger: config.logger.child({ part: "gateway" }) });
    let ownUrl = "";
    const shared = config.store ? { storeUrl: config.store, advertiseUrl: () => config.advertiseUrl ?? ownUrl } : undefined;
    const sandbox = await openSandboxPart(db, ctx, { backend: config.sandboxBackend, gateways, ...(shared ? { shared } : {}) });
    parts.push(sandbox);
    const session = await openSessionPart(db, ctx, { sessionTokens, agentRules: sandbox.agentRules, storageDelayMs: config.faultStorageDelayMs, checkAgentCredentials: mcpCredentialCheck(vault.vault), ...(config.store ? { storeUrl: config.store } : {}) });
    parts.push(session);
    const harness = await openHarnessPart({ store: session.store, logger: config.logger, paging: ctx.paging, options: config.harness, sessionTokens, sessionTokenGraceMs: limits.sessionTokenGraceMs, sharedStore: session.storeKind === "jetstream" });
    parts.push(harness);
    metrics.observeFleet({ harness: () => harness.dispatcher.stats(), sandboxes: () => sandbox.counts() });
    const mcpLog = config.logger.child({ part: "mcp" });
    const server = await startOmaServer({
      port: config.port,
      host: config.host,
      logger: config.logger,
      limits,
      sandboxBackends: () => sandbox.backends,
      sessionStore: session.storeKind,
      services: { sandbox: sandbox.service, session: session.service, harness: harness.service, tokens: auth.service, vault: vault.service },
      auth: auth.authenticator,
      features: () => parts.flatMap((p) => p.features),
      storage,
      metrics,
      tracing: config.tracing ?? false,
      httpRoutes: httpRoutes(
        metricsRoute({ metrics, auth: auth.authenticator, logger: config.logger }),
        prefixRoute(
          MCP_PATH_PREFIX,
          madeOnFirstRequest(async () => (await import("./mcp/mcp-proxy.js")).createMcpProxy({ auth: auth.authenticator, store: session.store, vault: vault.vault, upstream: upstreamMcp, logger: mcpLog }), mcpLog),
        ),
        inspectorRoute(),
      ),
    });
    ownListener = { address: server.host, port: server.port };
    ownUrl = server.url;
    return {
      url: server.url,
      port: server.port,
      adminTokenFile: auth.adminTokenFile,
      gatewayDenials: () => gateways.audit.deniedCounts(),
      localWorkerToken: () => auth.localWorkerToken(),
      stopDispatching: () => harness.close(),
      sessionStore: session.storeKind,
      async close() {
        await server.close();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
