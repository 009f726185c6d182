import type { Db } from "../part.js";
import { LevelSessionStorage } from "./level-session-storage.js";
import { SessionLog, type SessionLogOptions } from "./session-log.js";
import type { SessionStorage } from "./session-storage.js";
import type { StorageHealth } from "./storage-health.js";

export interface LevelSessionStoreOptions extends SessionLogOptions {
  readonly sublevel?: string;
  /** Wraps the storage (fault injection for conformance testing, `delayStorage`). */
  readonly wrapStorage?: (storage: SessionStorage) => SessionStorage;
  /** The server's storage health, which every durable write goes through. */
  readonly health?: StorageHealth;
}

/** The durable SessionStore: the session log engine on the server's LevelDB. */
export class LevelSessionStore extends SessionLog {
  constructor(db: Db, options: LevelSessionStoreOptions = {}) {
    const storage = new LevelSessionStorage(db, options.sublevel, options.health);
    super(options.wrapStorage ? options.wrapStorage(storage) : storage, options);
  }
}
