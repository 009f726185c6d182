import { MemorySessionStore } from "./memory-session-store.js";
import { describeSessionStoreContract } from "./session-store.contract.js";

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
