import type { Db } from "../part.js";
import { LevelSessionStorage } from "./level-session-storage.js";
import { SessionLog, type SessionLogOptions } from "./session-log.js";

/** The durable SessionStore: the session log engine on the server's LevelDB. */
export class LevelSessionStore extends SessionLog {
  constructor(db: Db, options: SessionLogOptions & { sublevel?: string } = {}) {
    super(new LevelSessionStorage(db, options.sublevel), options);
  }
}
