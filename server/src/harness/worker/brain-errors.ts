/** The brain lost its lease: another brain owns the session now; stop without writing. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

/** A user_interrupt stopped the current model call or tool (HARN-9). */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
}
