import type { RecordedRequest, Responder } from "../scripted-model/index.js";

/**
 * What harness cases need beyond a client: the scripted model the target's brains call
 * (ANTHROPIC_BASE_URL). Each case gives its session a unique `agent.model` and scripts
 * the replies for that model name, so cases never see each other's model calls.
 */
export interface HarnessFixture {
  /** Base URL of the scripted model the target was started against. */
  readonly modelUrl: string;
  /**
   * Answers requests whose `model` is `model` with `responder`; with `contextWindow`, a
   * request for it over that many tokens (the scripted model's `promptTokens`) gets the
   * API's 400 "prompt is too long".
   */
  script(model: string, responder: Responder, options?: { readonly contextWindow?: number }): void;
  /** Requests received for `model`, in arrival order. */
  requests(model: string): readonly RecordedRequest[];
  /** The model API key the target's brains were given; it must never reach a sandbox or the log (HARN-14). */
  readonly apiKey: string;
  /**
   * Starts a worker process of the target's (`--worker-cmd`) with the given worker id,
   * for fault injection; undefined when the run has no worker command.
   */
  readonly startWorker?: (workerId: string) => Promise<WorkerHandle>;
  /** SIGKILLs a worker this fixture started; false when the worker is not one of its own. */
  killWorker(workerId: string): Promise<boolean>;
}

/** A worker process the runner started. */
export interface WorkerHandle {
  readonly workerId: string;
  readonly pid: number;
  /** SIGKILLs the worker and waits for it to exit. */
  kill(): Promise<void>;
}
