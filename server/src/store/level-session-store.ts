import type { Db } from "../part.js";
import { LevelSessionStorage } from "./level-session-storage.js";
import { SessionLog } from "./session-log.js";
import type { Clock } from "./session-store.js";

/** The durable SessionStore: the session log engine on the server's LevelDB. */
export class LevelSessionStore extends SessionLog {
  constructor(db: Db, options: { now?: Clock; sublevel?: string } = {}) {
    super(new LevelSessionStorage(db, options.sublevel), options);
  }
}
