import type { MemorySessionStorage } from "../store/memory-session-storage.js";
import type { ChangeListener, DispatchHints, SessionStorage, SessionWrite } from "../store/session-storage.js";
import type { DispatchRecord } from "../store/session-store.js";

/** Dispatch hints among views of one memory storage, as NATS carries them among servers. */
export function memoryDispatchHints(): DispatchHints {
  const listeners = new Set<(record: DispatchRecord) => void>();
  return {
    announce: (record) => queueMicrotask(() => listeners.forEach((l) => l(record))),
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * One process's view of a storage it shares with another: `shared`, and only the changes
 * written through this view are its own ("local"). Memory storage tells its watchers
 * synchronously inside `write`, which is how a change is known to be this view's.
 */
export class SharedView implements SessionStorage {
  readonly shared = true;
  readonly #inner: MemorySessionStorage;
  #writing = false;

  constructor(inner: MemorySessionStorage, readonly dispatchHints?: DispatchHints) {
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
  readEvents = (id: string, a: number, b: number, limit: number, reverse: boolean) => this.#inner.readEvents(id, a, b, limit, reverse);
  getIdempotency = (id: string, key: string) => this.#inner.getIdempotency(id, key);
  listIndex = (tenant: string | undefined, cursor: string | undefined) => this.#inner.listIndex(tenant, cursor);
  listDispatches = (cursor: string | undefined) => this.#inner.listDispatches(cursor);
  purge = (id: string, revision: number) => this.#inner.purge(id, revision);
  close = async () => {};
}
