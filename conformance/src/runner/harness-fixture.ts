import type { RecordedRequest, Responder } from "../scripted-model/index.js";

/**
 * What harness cases need beyond a client: the scripted model the target's brains call
 * (ANTHROPIC_BASE_URL). Each case gives its session a unique `agent.model` and scripts
 * the replies for that model name, so cases never see each other's model calls.
 */
export interface HarnessFixture {
  /** Base URL of the scripted model the target was started against. */
  readonly modelUrl: string;
  /** Answers requests whose `model` is `model` with `responder`. */
  script(model: string, responder: Responder): void;
  /** Requests received for `model`, in arrival order. */
  requests(model: string): readonly RecordedRequest[];
  /**
   * Starts a worker process of the target's (`--worker-cmd`) that the runner controls,
   * for fault injection; undefined when the run has no worker command.
   */
  readonly startWorker?: () => Promise<WorkerHandle>;
}

/** A worker process the runner started. */
export interface WorkerHandle {
  readonly pid: number;
  /** SIGKILLs the worker and waits for it to exit. */
  kill(): Promise<void>;
}
