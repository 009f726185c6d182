import { MemorySessionStorage } from "./memory-session-storage.js";
import { SessionLog } from "./session-log.js";
import type { Clock } from "./session-store.js";

/** SessionStore in memory for unit tests; the same engine and contract as the LevelDB one. */
export class MemorySessionStore extends SessionLog {
  constructor(options: { now?: Clock } = {}) {
    super(new MemorySessionStorage(), options);
  }
}
