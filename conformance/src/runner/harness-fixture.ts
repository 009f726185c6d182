/**
 * What harness cases need beyond a client: the scripted model the target's brains call
 * (ANTHROPIC_BASE_URL), so each case can script the model's replies for its own session.
 */
export interface HarnessFixture {
  /** Base URL of the scripted model the target was started against. */
  readonly modelUrl: string;
  /** Scripts the model's replies for requests whose system prompt contains `marker`. */
  script(marker: string, replies: readonly ScriptedReply[]): void;
  /** Requests the model received whose system prompt contains `marker`. */
  requests(marker: string): readonly unknown[];
  /**
   * Starts a brain worker process of the target's own (`--worker-cmd`) that the runner
   * controls, or undefined when the target offers none.
   */
  startWorker?(): Promise<WorkerHandle>;
}

/** One scripted model turn: text, and optionally tool calls. */
export interface ScriptedReply {
  readonly text?: string;
  readonly toolUses?: readonly { readonly name: string; readonly input: Record<string, unknown> }[];
  /** Delay before the reply starts, ms. */
  readonly delayMs?: number;
}

export interface WorkerHandle {
  readonly pid: number;
  /** SIGKILLs the worker. */
  kill(): Promise<void>;
}
