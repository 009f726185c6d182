/** The brain lost its lease: another brain owns the session now; stop without writing. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

/** A user_interrupt stopped the current model call or tool (HARN-9). */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
}

/** The worker is shutting down: the brain stops at once, writes nothing more and hands the session on. */
export class StoppedError extends Error {
  override readonly name = "StoppedError";
}
