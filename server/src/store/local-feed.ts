import type { ChangeListener, SessionChange } from "./session-storage.js";

/**
 * The change feed of a storage that only this process writes: a write's storage tells its
 * watchers right after it is durable. Changes at or below a watcher's start revision are
 * not told (they were committed before the watch began).
 */
export class LocalFeed {
  readonly #watchers = new Map<string, Set<{ readonly after: number; readonly listener: ChangeListener }>>();

  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void {
    const entry = { after: afterRevision, listener };
    let set = this.#watchers.get(sessionId);
    if (!set) this.#watchers.set(sessionId, (set = new Set()));
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#watchers.get(sessionId) === set) this.#watchers.delete(sessionId);
    };
  }

  emit(sessionId: string, change: SessionChange): void {
    for (const w of this.#watchers.get(sessionId) ?? []) if (change.revision > w.after) w.listener(change);
  }
}
