// Test support: the real reference services, served in-process, optionally wrapped by a
// broken variant. Only the suite's own tests import the server's source.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_VAULT_KEY } from "../../server/src/testing/nats-cluster.js";
import { ClassicLevel } from "classic-level";
import type { DescService } from "@bufbuild/protobuf";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { openAuthPart, openTokenStore } from "../../server/src/auth/auth-part.js";
import type { Authenticator } from "../../server/src/auth/authenticate.js";
import type { TokenStore } from "../../server/src/auth/token-store.js";
import { ADMIN_TOKEN_FILE } from "../../server/src/auth/token-files.js";
import { openHarnessPart } from "../../server/src/harness/harness-part.js";
import type { Handlers, ServiceParts } from "../../server/src/rpc/handlers.js";
import { Paging, pageTokenSecret } from "../../server/src/rpc/paging.js";
import { OmaMetrics } from "../../server/src/telemetry/metrics.js";
import { defaultLimits, type ServerLimits } from "../../server/src/limits.js";
import { createLogger } from "../../server/src/logger.js";
import type { Db, PartContext, ServerPart } from "../../server/src/part.js";
import { openSandboxPart } from "../../server/src/sandbox/sandbox-part.js";
import { startOmaServer } from "../../server/src/server.js";
import { openSessionPart } from "../../server/src/session/session-part.js";
import type { SessionStorage } from "../../server/src/store/session-storage.js";
import { StorageHealth } from "../../server/src/store/storage-health.js";
import { tempDir } from "../../server/src/testing/temp-dir.js";
import { describeLeftovers, findLeftovers, removeLeftovers } from "../../server/src/testing/leftovers.js";
import { freePort, launchTarget } from "../src/runner/target-process.js";
import { openVaultPart } from "../../server/src/vault/vault-part.js";
import { GatewayAudit } from "../../server/src/gateway/gateway-audit.js";
import { SandboxGateways } from "../../server/src/gateway/sandbox-gateway.js";
import { mcpCredentialCheck } from "../../server/src/mcp/mcp-credentials.js";
import { MCP_PATH_PREFIX } from "../../server/src/mcp/mcp-paths.js";
import { createMcpProxy } from "../../server/src/mcp/mcp-proxy.js";
import { prefixRoute } from "../../server/src/http/http-routes.js";
import { UpstreamClients } from "../../server/src/mcp/upstream-clients.js";

export type SessionImpl = Handlers<typeof SessionService>;
export type SandboxImpl = Handlers<typeof SandboxService>;
export type HarnessImpl = Handlers<typeof HarnessService>;
export type VaultImpl = Handlers<typeof VaultService>;
export type TokenImpl = Handlers<typeof TokenService>;

export interface ServiceWrappers {
  /** Limits GetServerInfo reports instead of the ones in force. */
  readonly reportedLimits?: Partial<ServerLimits>;
  readonly session?: (real: SessionImpl) => SessionImpl;
  readonly sandbox?: (real: SandboxImpl) => SandboxImpl;
  readonly harness?: (real: HarnessImpl) => HarnessImpl;
  /** Wraps the session log's storage (a defect below the service, e.g. in durability). */
  readonly storage?: (real: SessionStorage) => SessionStorage;
  /** `dataDir` is the server's data directory, for a variant that leaves a secret on disk. */
  readonly vault?: (real: VaultImpl, dataDir: string) => VaultImpl;
  readonly tokens?: (real: TokenImpl) => TokenImpl;
  /**
   * Wraps the authenticator every call goes through (a defect in authentication, or in
   * the principal that roles and tenants are checked against); `store` holds the tokens.
   */
  readonly authenticator?: (real: Authenticator, store: TokenStore) => Authenticator;
}

/** How a variant server is opened. */
export interface VariantOptions {
  readonly sandboxBackend?: string;
  readonly harness?: boolean;
  /** The reference's fault-injection storage delay (`--fault-storage-delay-ms`). */
  readonly storageDelayMs?: number;
  /** `nats://…`: the session log on that JetStream cluster instead of the server's LevelDB. */
  readonly storeUrl?: string;
  /** "none" serves without authentication (no admin token); default "tokens". */
  readonly auth?: "tokens" | "none";
  /** What the server serves (a variant's name), for the report of what it left behind. */
  readonly label?: string;
}

export interface VariantServer {
  readonly url: string;
  readonly dataDir: string;
  /** An admin token of the server (`<dataDir>/admin.token`); "" with auth "none". */
  readonly adminToken: string;
  /** Stops everything and opens it again on the same data and port (a graceful restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bounds small enough that the suite's bound-probing cases (slow watcher, heartbeat) run
 * in a second or two; the suite reads them from GetServerInfo like any target's.
 */
export const fastLimits: ServerLimits = { ...defaultLimits, maxWatchLagEvents: 300, watchHeartbeatMs: 1000 };

/** Starts the reference services (session, and sandbox on `sandboxBackend` when given) wrapped as asked. */
export async function startVariantServer(wrappers: ServiceWrappers, options: VariantOptions = {}): Promise<VariantServer> {
  const dir = await tempDir("oma-variant-");
  let running = await open(dir.path, 0, wrappers, options);
  return {
    get url() {
      return running.url;
    },
    dataDir: dir.path,
    adminToken: options.auth === "none" ? "" : (await readFile(join(dir.path, ADMIN_TOKEN_FILE), "utf8")).trim(),
    async restart() {
      const port = running.port;
      await running.close();
      running = await open(dir.path, port, wrappers, options);
    },
    async close() {
      await running.close();
      await (options.sandboxBackend ? removeForGood(dir.path, options.label) : dir.remove());
    },
  };
}

/** Where a variant's sandboxes keep their workspaces: beside its data directory, the same after a restart. */
const workspaceRootOf = (dataDir: string) => `${dataDir}-sandboxes`;

/**
 * Removes a variant's data directory and workspaces for good, with whatever its sandboxes
 * left: a server's close keeps its containers (and their workspaces) to re-attach them at
 * the next start, and a sandbox a case did not delete (it failed or ran out of time first,
 * or the variant breaks deletion) is still there. These directories see no next start.
 */
async function removeForGood(dataDir: string, label = "a variant server"): Promise<void> {
  for (const root of [dataDir, workspaceRootOf(dataDir)]) {
    const scope = { root };
    const found = await findLeftovers(scope);
    const left = describeLeftovers({ ...found, paths: [] }); // its files are expected; what runs or is mounted is not
    if (left.length > 0) console.log(`${label} (data dir ${dataDir}) left behind, now removed: ${left.join("; ")}`);
    await removeLeftovers(scope, found);
  }
}

const viteNode = fileURLToPath(new URL("../../node_modules/.bin/vite-node", import.meta.url));
const variantMain = fileURLToPath(new URL("./variant-process.ts", import.meta.url));

/**
 * Serves a variant as a process of its own (variant-process.ts), so that a restart is a
 * SIGKILL of it, as `--target-cmd` does to a target: for defects only a kill -9 shows.
 */
export async function startVariantProcess(name: string, options: VariantOptions = {}): Promise<VariantServer> {
  const dir = await tempDir("oma-variant-process-");
  const port = await freePort();
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = `exec ${quote(viteNode)} ${quote(variantMain)} ${quote(name)} ${quote(dir.path)} ${port} ${options.storageDelayMs ?? 0}`;
  let running = await launchTarget(command, { OMA_LOG_LEVEL: "silent" }, 60_000);
  return {
    get url() {
      return running.url;
    },
    dataDir: dir.path,
    adminToken: (await readFile(join(dir.path, ADMIN_TOKEN_FILE), "utf8")).trim(),
    async restart() {
      await running.stop();
      running = await launchTarget(command, { OMA_LOG_LEVEL: "silent" }, 60_000);
    },
    async close() {
      await running.stop();
      await removeForGood(dir.path, name);
    },
  };
}

/** Opens the database and parts on `dataDir` and serves them; wrappers are applied afresh each time. */
export async function open(dataDir: string, port: number, wrappers: ServiceWrappers, options: VariantOptions) {
  const db: Db = new ClassicLevel<string, Uint8Array>(join(dataDir, "leveldb"), { valueEncoding: "view" });
  await db.open();
  const storage = new StorageHealth();
  const tokens = await openTokenStore(db, storage, options.storeUrl);
  const paging = new Paging(pageTokenSecret(await tokens.signingKey()), fastLimits.maxPageSize);
  const ctx: PartContext = { dataDir, logger: createLogger({ level: "silent" }), limits: fastLimits, paging, storage, metrics: new OmaMetrics() };
  const parts: Pick<ServerPart, "features" | "close">[] = [{ features: [], close: () => tokens.close() }];
  const auth = await openAuthPart(tokens, ctx, { mode: options.auth ?? "tokens" });
  parts.push(auth);
  const authenticator = wrappers.authenticator ? wrappers.authenticator(auth.authenticator, auth.store) : auth.authenticator;
  const vault = await openVaultPart(db, ctx, options.storeUrl ? { storeUrl: options.storeUrl, env: { OMA_VAULT_KEY: TEST_VAULT_KEY } } : {});
  parts.push(vault);
  const upstreamMcp = new UpstreamClients({ allowLoopback: true });
  parts.push({ features: ["harness.mcp"], close: () => upstreamMcp.close() });
  // The suite's git server and hosts listen on this machine's loopback.
  const gateways = new SandboxGateways({ vault: vault.vault, policy: { allowLoopback: true }, audit: new GatewayAudit(ctx.logger), logger: ctx.logger });
  // On a shared store, calls for another server's sandboxes are forwarded to it (SBX-17).
  const shared = options.storeUrl ? { shared: { storeUrl: options.storeUrl, advertiseUrl: () => `http://127.0.0.1:${port}` } } : {};
  const sandbox = options.sandboxBackend ? await openSandboxPart(db, ctx, { backend: options.sandboxBackend, gateways, workspaceRoot: workspaceRootOf(dataDir), ...shared }) : undefined;
  if (sandbox) parts.push(sandbox);
  const session = await openSessionPart(db, ctx, {
    sessionTokens: auth.sessionTokens,
    ...(sandbox ? { agentRules: sandbox.agentRules } : {}),
    ...(options.storageDelayMs ? { storageDelayMs: options.storageDelayMs } : {}),
    ...(wrappers.storage ? { wrapStorage: wrappers.storage } : {}),
    ...(options.storeUrl ? { storeUrl: options.storeUrl } : {}),
    checkAgentCredentials: mcpCredentialCheck(vault.vault),
  });
  parts.push(session);
  // Brain leases of 3 s keep the fault-injection cases (a killed worker) short.
  const harness = options.harness ? await openHarnessPart({ store: session.store, logger: ctx.logger, paging: ctx.paging, options: { leaseTtlMs: 3000 }, sessionTokens: auth.sessionTokens }) : undefined;
  if (harness) parts.push(harness);
  // A variant wraps what the real server does for a method: its request rules, then its
  // handler, as one function; the server then runs that alone.
  const wrap = <S extends DescService>(service: S, real: ServiceParts<S>, w: ((real: Handlers<S>) => Handlers<S>) | undefined): ServiceParts<S> => {
    if (!w) return real;
    const checked = Object.fromEntries(
      service.methods.map((m) => {
        const validate = (real.validators as Record<string, (req: unknown) => void>)[m.localName]!;
        const handle = (real.handlers as Record<string, (req: unknown, call: unknown) => unknown>)[m.localName]!;
        const run =
          m.methodKind === "server_streaming"
            ? async function* (req: unknown, call: unknown) {
                validate(req);
                yield* handle(req, call) as AsyncIterable<unknown>;
              }
            : (req: unknown, call: unknown) => {
                validate(req);
                return handle(req, call);
              };
        return [m.localName, run];
      }),
    ) as Handlers<S>;
    const unchecked = Object.fromEntries(service.methods.map((m) => [m.localName, () => undefined])) as unknown as ServiceParts<S>["validators"];
    return { handlers: w(checked), validators: unchecked };
  };
  const server = await startOmaServer({
    port,
    host: "127.0.0.1",
    logger: ctx.logger,
    limits: { ...fastLimits, ...wrappers.reportedLimits },
    services: {
      session: wrap(SessionService, session.service, wrappers.session),
      ...(sandbox ? { sandbox: wrap(SandboxService, sandbox.service, wrappers.sandbox) } : {}),
      ...(harness ? { harness: wrap(HarnessService, harness.service, wrappers.harness) } : {}),
      tokens: wrap(TokenService, auth.service, wrappers.tokens),
      vault: wrap(VaultService, vault.service, wrappers.vault ? (real) => wrappers.vault!(real, dataDir) : undefined),
    },
    auth: authenticator,
    features: () => parts.flatMap((p) => p.features),
    sandboxBackends: () => sandbox?.backends ?? [],
    httpRoutes: prefixRoute(MCP_PATH_PREFIX, createMcpProxy({ auth: authenticator, store: session.store, vault: vault.vault, upstream: upstreamMcp, logger: ctx.logger })),
  });
  return {
    url: server.url,
    port: server.port,
    async close() {
      await server.close();
      for (const p of parts.reverse()) await p.close();
      await db.close();
    },
  };
}
