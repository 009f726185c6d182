import type { Db, PartContext } from "../part.js";
import type { StorageHealth } from "../store/storage-health.js";
import type { Paging } from "../rpc/paging.js";
import { Authenticator, type AuthMode } from "./authenticate.js";
import { LevelTokenStore } from "./level-token-store.js";
import { ANY_TENANT, DEFAULT_TENANT } from "./principal.js";
import { SessionTokens } from "./session-token.js";
import { ADMIN_TOKEN_FILE, ensureTokenFile, WORKER_TOKEN_FILE } from "./token-files.js";
import { createTokenService, tokenValidators } from "./token-service.js";
import type { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import type { ServiceParts } from "../rpc/handlers.js";
import type { TokenStore } from "./token-store.js";

/** Features the auth part claims when it authenticates calls (SEC-4). */
export const AUTH_FEATURES = ["auth.tokens"] as const;

export interface AuthPart {
  readonly store: TokenStore;
  readonly authenticator: Authenticator;
  readonly sessionTokens: SessionTokens;
  readonly service: ServiceParts<typeof TokenService>;
  readonly features: readonly string[];
  /** `<dataDir>/admin.token`, written on first start; undefined with auth "none". */
  readonly adminTokenFile: string | undefined;
  /** The pool worker token of this server's local workers (`<dataDir>/worker.token`); undefined with auth "none". */
  localWorkerToken(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Where the server keeps its tokens: on the JetStream cluster of `--store nats://…`, shared
 * with every server there (a token works on all of them), else on its own LevelDB. The
 * JetStream client is loaded only by a server that uses it.
 */
export async function openTokenStore(db: Db, storage: StorageHealth, storeUrl: string | undefined): Promise<TokenStore> {
  if (!storeUrl) return new LevelTokenStore(db, storage);
  const { JetStreamTokenStore } = await import("./jetstream-token-store.js");
  return JetStreamTokenStore.open(storeUrl);
}

/**
 * The authenticator every call goes through, over the token store (its opener closes it),
 * and this server's admin token in `<dataDir>/admin.token` (mode 0600),
 * written when there is none. On a shared store every server writes its own on the first
 * start of its data directory, valid on every server.
 */
export async function openAuthPart(store: TokenStore, ctx: PartContext & { paging: Paging }, options: { mode: AuthMode }): Promise<AuthPart> {
  const log = ctx.logger.child({ part: "auth" });
  const sessionTokens = new SessionTokens(await store.signingKey());
  const authenticator = new Authenticator({ store, sessionTokens, mode: options.mode });
  let adminTokenFile: string | undefined;
  if (options.mode === "tokens") {
    const admin = await ensureTokenFile(store, ctx.dataDir, ADMIN_TOKEN_FILE, { tenant: DEFAULT_TENANT, role: "admin", description: `first admin token (${ADMIN_TOKEN_FILE})` }, log);
    adminTokenFile = admin.path;
    if (admin.created) log.info({ path: admin.path }, `wrote an admin token to ${admin.path} (mode 0600); oma commands on this machine use it by themselves`);
  } else {
    log.warn("!!! authentication is OFF (--auth none): anyone who reaches the port is an admin of every tenant. Development only.");
  }
  return {
    store,
    authenticator,
    sessionTokens,
    service: { handlers: createTokenService({ store, paging: ctx.paging }), validators: tokenValidators },
    features: options.mode === "tokens" ? AUTH_FEATURES : [],
    adminTokenFile,
    async localWorkerToken() {
      if (options.mode === "none") return undefined;
      const worker = await ensureTokenFile(store, ctx.dataDir, WORKER_TOKEN_FILE, { tenant: ANY_TENANT, role: "worker", description: `local workers (${WORKER_TOKEN_FILE})` }, log);
      return worker.bearer;
    },
    async close() {
      authenticator.close();
    },
  };
}
