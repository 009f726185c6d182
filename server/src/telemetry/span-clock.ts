/**
 * The times of a span made after its work began (late-span.ts), taken as the SDK takes
 * them for a span it starts itself: the wall clock at the start,
 * then the monotonic clock for what follows, so the span lines up with the others and its
 * duration is exact. Both are milliseconds since the epoch, as the SDK's `TimeInput` takes them.
 */
export class SpanClock {
  readonly startedAt = Date.now();
  readonly #startedMono = performance.now();

  /** Now, on this span's clock. */
  now(): number {
    return this.startedAt + (performance.now() - this.#startedMono);
  }
}
