import { randomBytes } from "node:crypto";
import type { Db, PartContext, ServerPart } from "../part.js";
import { LevelSessionStore } from "../store/level-session-store.js";
import type { SessionStore } from "../store/session-store.js";
import { PageTokens } from "./page-token.js";
import { createSessionService } from "./session-service.js";

/** Features this part claims in GetServerInfo. */
export const SESSION_FEATURES = ["session.core", "session.leases"] as const;

/** The session part: the durable log and its service. Other parts use `store` directly. */
export interface SessionPart extends ServerPart {
  readonly store: SessionStore;
}

/**
 * Opens the session log in the `session` sublevel of the server's database. Page tokens
 * are signed with a secret kept in the same database, so tokens stay valid across restarts.
 */
export async function openSessionPart(db: Db, ctx: PartContext): Promise<SessionPart> {
  const store = new LevelSessionStore(db, { sublevel: "session" });
  const config = db.sublevel<string, Uint8Array>("session-config", { valueEncoding: "view" });
  let secret = await config.get("page-token-secret");
  if (!secret) {
    secret = randomBytes(32);
    await db.batch().put("page-token-secret", secret, { sublevel: config }).write({ sync: true });
  }
  const service = createSessionService({ store, limits: ctx.limits, pageTokens: new PageTokens(secret), heartbeatMs: ctx.limits.watchHeartbeatMs });
  return {
    store,
    service,
    features: SESSION_FEATURES,
    close: () => store.close(),
  };
}
