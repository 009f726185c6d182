import type { SessionStorage, SessionWrite, WriteOutcome } from "./session-storage.js";

/**
 * A SessionStorage whose synced `write` is `write` (which calls the inner storage's own);
 * every other member passes through untouched — a proxy, so a member added to the storage
 * interface later passes through too. What fault injection and metrics wrap a storage with.
 */
export function wrapStorageWrite(storage: SessionStorage, write: (writes: readonly SessionWrite[]) => Promise<WriteOutcome[]>): SessionStorage {
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "write") return write;
      // Read on the storage itself, so its getters reach its private fields.
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
