import { MemorySessionStorage } from "./memory-session-storage.js";
import { MemorySessionStore } from "./memory-session-store.js";
import { SessionLog } from "./session-log.js";
import type { ChangeListener, SessionStorage, SessionWrite } from "./session-storage.js";
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

/**
 * One process's view of a storage it shares with another: `shared`, and only the changes
 * written through this view are its own ("local"). Memory storage tells its watchers
 * synchronously inside `write`, which is how a change is known to be this view's.
 */
class SharedView implements SessionStorage {
  readonly shared = true;
  readonly #inner: MemorySessionStorage;
  #writing = false;

  constructor(inner: MemorySessionStorage) {
    this.#inner = inner;
  }

  write(writes: readonly SessionWrite[]) {
    this.#writing = true;
    try {
      return this.#inner.write(writes);
    } finally {
      this.#writing = false;
    }
  }

  watch(sessionId: string, afterRevision: number, listener: ChangeListener) {
    return this.#inner.watch(sessionId, afterRevision, (change) => listener({ ...change, local: this.#writing }));
  }

  loadSession = (id: string) => this.#inner.loadSession(id);
  loadMeta = (id: string) => this.#inner.loadMeta(id);
  readEvents = (id: string, a: number, b: number, limit: number, reverse: boolean) => this.#inner.readEvents(id, a, b, limit, reverse);
  getIdempotency = (id: string, key: string) => this.#inner.getIdempotency(id, key);
  listIndex = (tenant: string | undefined, cursor: string | undefined) => this.#inner.listIndex(tenant, cursor);
  listDispatches = (cursor: string | undefined) => this.#inner.listDispatches(cursor);
  purge = (id: string, revision: number) => this.#inner.purge(id, revision);
  close = async () => {};
}

describeSharedStoreContract("memory", async () => {
  let now = Date.now();
  const storage = new MemorySessionStorage();
  const a = new SessionLog(new SharedView(storage), { now: () => now });
  const b = new SessionLog(new SharedView(storage), { now: () => now, maxCachedSessions: 2 });
  return { a, b, advance: (ms) => (now += ms), close: async () => void (await Promise.all([a.close(), b.close()])) };
});
