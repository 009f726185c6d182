import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { CommitTarget } from "./group-committer.js";
import { sessionKey, type SessionRef } from "./session-ref.js";
import { listPosition, type SessionHead, type SessionStorage } from "./session-storage.js";
import type { AppendResult, DispatchRecord, LogListener } from "./session-store.js";

/** A session the engine has loaded: its committed state, and the tip with reserved changes. */
export interface LiveSession extends CommitTarget {
  /** Its store key (session-ref.ts). */
  readonly id: string;
  readonly ref: SessionRef;
  readonly position: string;
  /** The fixed part (id, tenant, labels, agent, creation time), written once when the session is created. */
  meta: Session;
  /** State as durable in storage at `revision`: what readers see. */
  committed: Session;
  /** State after every accepted but not yet durable change: what writers are checked against. */
  tip: Session;
  /** Greatest epoch ever granted under this id, including before a delete (tip). */
  epochFloor: number;
  /** The dispatch record after every accepted change (see DispatchRecord). */
  dispatch: DispatchRecord | undefined;
  /** The generation the tip was loaded or kept at; behind `generation` means stale. */
  syncedGeneration: number;
  /** Changes submitted and not yet settled. */
  pending: number;
  readonly pendingKeys: Map<string, { readonly hash: Uint8Array; readonly firstSeq: number; readonly done: Promise<AppendResult> }>;
  readonly listeners: Set<LogListener>;
  /** Ends the storage's change feed, open while the session has listeners. */
  unwatch: (() => void) | undefined;
}

/**
 * The engine's cache of sessions, bounded: loads once per key, and evicts the
 * longest-unused idle entries past the bound.
 */
export class LiveSessions {
  readonly #storage: SessionStorage;
  readonly #max: number;
  readonly #isLocked: (id: string) => boolean;
  readonly #map = new Map<string, LiveSession>();
  readonly #loading = new Map<string, Promise<LiveSession | undefined>>();
  #deletions = 0;

  constructor(storage: SessionStorage, max: number, isLocked: (id: string) => boolean) {
    this.#storage = storage;
    this.#max = max;
    this.#isLocked = isLocked;
  }

  /** The cached entry, if any, without loading or touching its place. */
  peek(id: string): LiveSession | undefined {
    return this.#map.get(id);
  }

  values(): IterableIterator<LiveSession> {
    return this.#map.values();
  }

  /** Forgets a deleted session's entry (if it is still the cached one); loads under way read again. */
  drop(live: LiveSession): void {
    if (this.#map.get(live.id) !== live) return;
    this.#deletions++;
    this.#map.delete(live.id);
  }

  /**
   * Caches a session. Past the bound, the longest-unused idle entries (no watcher, nothing
   * pending, nobody holding the session's lock) are dropped; they reload from storage.
   */
  remember(live: LiveSession): void {
    this.#map.set(live.id, live);
    if (this.#map.size <= this.#max) return;
    let excess = this.#map.size - Math.floor(this.#max * 0.9);
    for (const [id, s] of this.#map) {
      if (excess <= 0) break;
      if (s === live || s.listeners.size > 0 || s.pending > 0 || this.#isLocked(id)) continue;
      this.#map.delete(id);
      excess--;
    }
  }

  /** Loads once per key (concurrent callers share the read); a delete meanwhile forces a reread. */
  async load(ref: SessionRef): Promise<LiveSession | undefined> {
    const sessionId = sessionKey(ref);
    const cached = this.#map.get(sessionId);
    if (cached) {
      // Most recently used last, so eviction takes the longest unused first.
      this.#map.delete(sessionId);
      this.#map.set(sessionId, cached);
      return cached;
    }
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = (async () => {
        for (;;) {
          const deletions = this.#deletions;
          const head: SessionHead = await this.#storage.loadSession(sessionId);
          if (deletions !== this.#deletions) continue;
          const already = this.#map.get(sessionId);
          const stored = head.session;
          if (already || !stored) return already;
          const position = listPosition(ref, Number(stored.meta.createTime!.seconds) * 1e6 + Math.floor(stored.meta.createTime!.nanos / 1000));
          const live = newLive(ref, position, stored.meta, stored.state, head.revision, head.epoch, stored.dispatch);
          this.remember(live);
          return live;
        }
      })().finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    return loading;
  }
}

export function newLive(ref: SessionRef, position: string, meta: Session, state: Session, revision: number, epochFloor: number, dispatch: DispatchRecord | undefined): LiveSession {
  return {
    id: sessionKey(ref), ref, position, meta, committed: state, tip: state, revision, generation: 0, syncedGeneration: 0, epochFloor, dispatch,
    pending: 0, pendingKeys: new Map(), listeners: new Set(), unwatch: undefined,
  };
}

/**
 * Takes a state from storage as both committed and tip; `meta` when storage has the fixed
 * part too (a load, or a change that created the session: another server may have deleted
 * and created it again).
 */
export function adopt(live: LiveSession, revision: number, state: Session, epoch: number, dispatch: DispatchRecord | undefined, meta?: Session): void {
  if (meta) live.meta = meta;
  live.revision = revision;
  live.committed = state;
  live.tip = state;
  live.epochFloor = Math.max(live.epochFloor, epoch);
  live.dispatch = dispatch;
}

/** The session's view went stale: a write conflicted, or another writer moved it while ours were pending. */
export function isStale(live: LiveSession): boolean {
  return live.generation !== live.syncedGeneration;
}
