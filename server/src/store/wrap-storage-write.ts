import type { SessionStorage, SessionWrite, WriteOutcome } from "./session-storage.js";

/**
 * A SessionStorage whose synced `write` is `write` (which calls the inner storage's own);
 * every other member passes through untouched — a proxy, so a member added to the storage
 * interface later passes through too. What fault injection and metrics wrap a storage with.
 */
export function wrapStorageWrite(storage: SessionStorage, write: (writes: readonly SessionWrite[]) => Promise<WriteOutcome[]>): SessionStorage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop === "write") return write;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
