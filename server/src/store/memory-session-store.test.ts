import { MemorySessionStorage } from "./memory-session-storage.js";
import { MemorySessionStore } from "./memory-session-store.js";
import { SessionLog } from "./session-log.js";
import { SharedView } from "../testing/shared-memory-view.js";
import { describeSessionStoreContract } from "./session-store.contract.js";
import { describeSharedStoreContract } from "./shared-store.contract.js";

describeSessionStoreContract("memory", async () => {
  let now = Date.now();
  const store = new MemorySessionStore({ now: () => now });
  return { store, advance: (ms) => (now += ms), close: () => store.close() };
});

// The same contract with a cache of two sessions: idle entries are evicted and reloaded
// all the time, and nothing may change.
describeSessionStoreContract("memory, cache bounded to 2 sessions", async () => {
  let now = Date.now();
  const store = new MemorySessionStore({ now: () => now, maxCachedSessions: 2 });
  return { store, advance: (ms) => (now += ms), close: () => store.close() };
});

describeSharedStoreContract("memory", async () => {
  let now = Date.now();
  const storage = new MemorySessionStorage();
  const a = new SessionLog(new SharedView(storage), { now: () => now });
  const b = new SessionLog(new SharedView(storage), { now: () => now, maxCachedSessions: 2 });
  return { a, b, advance: (ms) => (now += ms), close: async () => void (await Promise.all([a.close(), b.close()])) };
});
