/**
 * A single-consumer queue whose reader awaits the next item; `close` ends the reader.
 * It carries a worker's assignments from the dispatcher to its ConnectWorker stream.
 */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** Takes every item not yet read (e.g. when the reader went away). */
  drain(): T[] {
    return this.#items.splice(0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next item, or undefined once closed and drained, or when `timeoutMs` passes. */
  async next(timeoutMs: number): Promise<T | undefined> {
    if (this.#items.length > 0) return this.#items.shift();
    if (this.#closed) return undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
    return this.#items.shift();
  }
}
