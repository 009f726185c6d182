import { MemorySessionStorage } from "./memory-session-storage.js";
import { SessionLog, type SessionLogOptions } from "./session-log.js";

/** SessionStore in memory for unit tests; the same engine and contract as the LevelDB one. */
export class MemorySessionStore extends SessionLog {
  constructor(options: SessionLogOptions = {}) {
    super(new MemorySessionStorage(), options);
  }
}
