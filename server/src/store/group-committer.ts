import type { SessionStorage, WriteOp } from "./session-storage.js";

interface Pending {
  readonly ops: readonly WriteOp[];
  readonly onDurable: () => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit: while one synced batch is being written, every append that arrives waits
 * in the queue; the next batch takes all of them, so many appends share one fsync. Each
 * entry's `onDurable` runs in submission order right after its batch is durable (this is
 * where heads move and watchers hear of the events), before anyone is acknowledged.
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
   * A write failed: the reserved tips are ahead of the disk and the storage may hold the
   * failed batch or not, so nothing more is accepted; every later submit gets this error.
   */
  get failure(): unknown {
    return this.#failure;
  }

  submit(ops: readonly WriteOp[], onDurable: () => void): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, onDurable, resolve, reject });
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
      try {
        await this.#storage.write(group.flatMap((p) => p.ops));
      } catch (err) {
        this.#failure ??= err;
        for (const p of [...group, ...this.#queue]) p.reject(err);
        this.#queue = [];
        break;
      }
      for (const p of group) p.onDurable();
      for (const p of group) p.resolve();
    }
    this.#writing = undefined;
  }
}
