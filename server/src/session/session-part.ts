import type { SessionTokens } from "../auth/session-token.js";
import type { Db, PartContext, ServerPart } from "../part.js";
import { LevelSessionStore } from "../store/level-session-store.js";
import type { SessionStore } from "../store/session-store.js";
import { createSessionService } from "./session-service.js";

/** Features this part claims in GetServerInfo. */
export const SESSION_FEATURES = ["session.core", "session.leases"] as const;

/** The session part: the durable log and its service. Other parts use `store` directly. */
export interface SessionPart extends ServerPart {
  readonly store: SessionStore;
}

/** Opens the session log in the `session` sublevel of the server's database. */
export async function openSessionPart(db: Db, ctx: PartContext, options: { sessionTokens?: SessionTokens } = {}): Promise<SessionPart> {
  const store = new LevelSessionStore(db, { sublevel: "session" });
  const service = createSessionService({ store, limits: ctx.limits, paging: ctx.paging, heartbeatMs: ctx.limits.watchHeartbeatMs, sessionTokens: options.sessionTokens });
  return {
    store,
    service,
    features: SESSION_FEATURES,
    close: () => store.close(),
  };
}
