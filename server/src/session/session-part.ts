import type { SessionTokens } from "../auth/session-token.js";
import type { Db, PartContext, ServerPart } from "../part.js";
import { delayStorage } from "../store/delayed-storage.js";
import { LevelSessionStore } from "../store/level-session-store.js";
import type { SessionStorage } from "../store/session-storage.js";
import { InstrumentedSessionStore, instrumentStorage } from "../telemetry/instrumented-store.js";
import type { SessionStore } from "../store/session-store.js";
import { resolveResources } from "../sandbox/resources.js";
import { TOOLS } from "../sandbox/tools.js";
import { createSessionService, type SessionServiceDeps } from "./session-service.js";
import { sessionValidators } from "./session-validators.js";
import type { AgentRules } from "./validate-agent.js";

/** Features this part claims in GetServerInfo. */
export const SESSION_FEATURES = ["session.core", "session.leases", "session.append_stream"] as const;

/** The session part: the durable log and its service. Other parts use `store` directly. */
export interface SessionPart extends ServerPart {
  readonly store: SessionStore;
  /** Where the log is kept: "leveldb" or "jetstream". */
  readonly storeKind: "leveldb" | "jetstream";
}

export interface SessionPartOptions {
  readonly sessionTokens?: SessionTokens;
  /** Checks the vault credentials an agent names (its MCP servers') at CreateSession. */
  readonly checkAgentCredentials?: SessionServiceDeps["checkAgentCredentials"];
  /** The sandbox part's rules for AgentConfig (tools of ListTools, the recipe as Provision checks it). */
  readonly agentRules?: Omit<AgentRules, "maxStructDepth">;
  /**
   * Fault injection for conformance testing (`oma serve --fault-storage-delay-ms`): every
   * synced write of the log is held this long before it starts and after it is durable.
   */
  readonly storageDelayMs?: number;
  /** Wraps the storage, outside the delay (the suite's own tests: a broken variant's storage). */
  readonly wrapStorage?: (storage: SessionStorage) => SessionStorage;
  /** `nats://host:port[,nats://…]`: the log on that JetStream cluster; unset: on the server's LevelDB. */
  readonly storeUrl?: string;
}

/** Opens the session log: in the `session` sublevel of the server's database, or on a JetStream cluster. */
export async function openSessionPart(db: Db, ctx: PartContext, options: SessionPartOptions = {}): Promise<SessionPart> {
  const delayMs = options.storageDelayMs ?? 0;
  // The log on LevelDB, counted at both ends: each synced write (innermost), and each call.
  const wrapStorage = (storage: SessionStorage) => {
    const counted = instrumentStorage(storage, ctx.metrics);
    const delayed = delayMs > 0 ? delayStorage(counted, delayMs) : counted;
    return options.wrapStorage ? options.wrapStorage(delayed) : delayed;
  };
  // The JetStream client is loaded only by a server that keeps its log there.
  const backing = options.storeUrl
    ? await (await import("../store/jetstream/jetstream-session-store.js")).JetStreamSessionStore.open(options.storeUrl, { wrapStorage, maxBatchBytes: ctx.limits.maxBatchBytes })
    : new LevelSessionStore(db, { sublevel: "session", wrapStorage, health: ctx.storage });
  const store = new InstrumentedSessionStore(backing, ctx.metrics);
  // Without a sandbox part (a server of sessions alone): the recipe's own rules and the built-in tools.
  const sandboxRules = options.agentRules ?? { sandboxTools: TOOLS.map((t) => t.name), checkSandbox: (r, field) => void resolveResources(r, "", field) };
  const service = {
    handlers: createSessionService({
      store,
      limits: ctx.limits,
      paging: ctx.paging,
      heartbeatMs: ctx.limits.watchHeartbeatMs,
      sessionTokens: options.sessionTokens,
      ...(options.checkAgentCredentials ? { checkAgentCredentials: options.checkAgentCredentials } : {}),
    }),
    validators: sessionValidators({ limits: ctx.limits, agent: { ...sandboxRules, maxStructDepth: ctx.limits.maxStructDepth } }),
  };
  return {
    store,
    storeKind: options.storeUrl ? "jetstream" : "leveldb",
    service,
    features: SESSION_FEATURES,
    close: () => store.close(),
  };
}
