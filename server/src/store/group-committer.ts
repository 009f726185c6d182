import type { StoredEvent } from "./event-bytes.js";
import type { SessionStorage, SessionWrite } from "./session-storage.js";

/** The session moved under a write (another writer got there first): reload it and try again. */
export class StorageConflict extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId} was changed by another writer`);
    this.name = "StorageConflict";
  }
}

/**
 * What the committer needs of a session: the revision its committed state is at, and a
 * generation that grows whenever the engine's view of it went stale (a conflict, or a
 * change by another writer while a write was pending); parts of an older generation were
 * built on a stale tip and are refused.
 */
export interface CommitTarget {
  readonly id: string;
  revision: number;
  generation: number;
}

/** One reservation's share of a session write. */
export type WritePart = Omit<SessionWrite, "sessionId" | "base">;

interface Pending {
  readonly target: CommitTarget;
  readonly generation: number;
  readonly part: WritePart;
  readonly onDurable: (revision: number) => void;
  readonly resolve: (revision: number) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit: while one storage write is under way, every change that arrives waits in
 * the queue; the next write takes all of them, so many appends share one fsync (or one
 * replicated message per session). Parts of one session in a group become one session
 * write built on the revision the session is committed at. Each part's `onDurable` runs in
 * submission order right after its write is durable, before anyone is acknowledged. On a
 * storage that bounds a write's size (`maxWriteBytes`), a session's parts go in order up to
 * that bound (at least one part); the rest lead the next write, built on this one.
 */
export class GroupCommitter {
  readonly #storage: SessionStorage;
  #queue: Pending[] = [];
  #writing: Promise<void> | undefined;
  #failure: unknown;

  constructor(storage: SessionStorage) {
    this.#storage = storage;
  }

  /**
   * The storage failed: the reserved tips are ahead of it and it may hold the failed write
   * or not, so nothing more is accepted; every later submit gets this error.
   */
  get failure(): unknown {
    return this.#failure;
  }

  /** Resolves with the revision the part was committed at. */
  submit(target: CommitTarget, part: WritePart, onDurable: (revision: number) => void): Promise<number> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ target, generation: target.generation, part, onDurable, resolve, reject });
      this.#writing ??= this.#drain();
    });
  }

  /** Resolves when every submitted write has finished. */
  async idle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      const bySession = new Map<CommitTarget, Pending[]>();
      for (const p of group) {
        if (p.generation !== p.target.generation) {
          p.reject(new StorageConflict(p.target.id));
          continue;
        }
        const parts = bySession.get(p.target);
        if (parts) parts.push(p);
        else bySession.set(p.target, [p]);
      }
      const later = this.#split(bySession);
      const entries = [...bySession];
      let outcomes;
      try {
        outcomes = await this.#storage.write(entries.map(([target, parts]) => merge(target, parts.map((p) => p.part))));
      } catch (err) {
        this.#failure ??= err;
        for (const p of [...entries.flatMap(([, parts]) => parts), ...later, ...this.#queue]) p.reject(err);
        this.#queue = [];
        break;
      }
      // Parts left for the next write go before those that arrived meanwhile; if this write
      // failed, the generation moved and the next round refuses them.
      this.#queue = [...later, ...this.#queue];
      entries.forEach(([target, parts], i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) {
          target.revision = Math.max(target.revision, outcome.revision);
          for (const p of parts) p.onDurable(outcome.revision);
          for (const p of parts) p.resolve(outcome.revision);
          return;
        }
        if (parts[0]!.generation === target.generation) target.generation++;
        const err = outcome.conflict ? new StorageConflict(target.id) : outcome.error;
        for (const p of parts) p.reject(err);
      });
    }
    this.#writing = undefined;
  }

  /** Keeps each session's parts within the storage's bound on a write; returns the parts left over, in order. */
  #split(bySession: Map<CommitTarget, Pending[]>): Pending[] {
    const max = this.#storage.maxWriteBytes;
    const later: Pending[] = [];
    if (max === undefined) return later;
    for (const [target, parts] of bySession) {
      if (parts.length === 1) continue;
      let bytes = writePartBytes(parts[0]!.part);
      let taken = 1;
      for (; taken < parts.length; taken++) {
        bytes += writePartBytes(parts[taken]!.part);
        if (bytes > max) break;
      }
      if (taken < parts.length) {
        later.push(...parts.slice(taken));
        bySession.set(target, parts.slice(0, taken));
      }
    }
    return later;
  }
}

/** Bytes a storage needs per idempotency key besides the key itself (hash, seqs), at most. */
const KEY_RECORD_BYTES = 64;

/** What a part adds to a write, as `SessionStorage.maxWriteBytes` counts it: its events' binary encoding and its keys. */
export function writePartBytes(part: { readonly events: readonly StoredEvent[]; readonly keys: readonly { readonly key: string }[] }): number {
  let bytes = 0;
  for (const e of part.events) bytes += e.bytes.length;
  for (const k of part.keys) bytes += k.key.length + KEY_RECORD_BYTES;
  return bytes;
}

/** The parts of one session in a group as one write: the last part's head, every event and key. */
function merge(target: CommitTarget, parts: readonly WritePart[]): SessionWrite {
  const last = parts[parts.length - 1]!;
  const meta = parts.find((p) => p.meta)?.meta;
  const events: StoredEvent[] = [];
  const keys: SessionWrite["keys"][number][] = [];
  for (const p of parts) {
    events.push(...p.events);
    keys.push(...p.keys);
  }
  return {
    sessionId: target.id,
    base: target.revision,
    position: last.position,
    ...(meta ? { meta } : {}),
    ...(parts.some((p) => p.deleted) ? { deleted: true } : {}),
    state: last.state,
    epoch: last.epoch,
    ...(last.dispatch ? { dispatch: last.dispatch } : {}),
    events,
    keys,
  };
}
