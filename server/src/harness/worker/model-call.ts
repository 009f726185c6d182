import type Anthropic from "@anthropic-ai/sdk";
import { setTimeout as sleep } from "node:timers/promises";
import { InterruptedError } from "./brain-errors.js";
import { classifyModelError, retryDelayMs, type ModelFailure } from "./model-errors.js";
import type { ModelRetryPolicy } from "./model-retry-policy.js";
import type { Prompt } from "./prompt.js";

/** The outcome of one model call after retries. */
export type ModelOutcome =
  | { readonly kind: "message"; readonly message: Anthropic.Message; readonly durationMs: number }
  | { readonly kind: "failed"; readonly failure: ModelFailure; readonly attempts: number; readonly exhausted: boolean };

/**
 * Calls the model with streaming (the SDK's own retries are off so every attempt is
 * visible) and retries retryable failures with backoff honouring retry-after (HARN-12);
 * an attempt that hears nothing for the policy's idle timeout counts as a connection failure.
 * Each failed attempt is reported through `onFailedAttempt` before the wait. The signal
 * (a user_interrupt) aborts the stream or the wait with InterruptedError.
 */
export async function callModel(deps: {
  client: Anthropic;
  model: string;
  maxTokens: number;
  prompt: Prompt;
  /** The API's `tool_choice`; unset lets the model choose (`auto`). */
  toolChoice?: Anthropic.ToolChoice;
  policy: ModelRetryPolicy;
  signal: AbortSignal;
  onFailedAttempt: (failure: ModelFailure, attempt: number, retryInMs: number | undefined) => Promise<void>;
  onFirstToken?: () => void;
}): Promise<ModelOutcome> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    // Aborted when the attempt hears nothing for idleTimeoutMs: a hung response is retried.
    const idle = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const heard = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => idle.abort(), deps.policy.idleTimeoutMs);
    };
    try {
      heard();
      const stream = deps.client.messages.stream(
        {
          model: deps.model,
          max_tokens: deps.maxTokens,
          system: deps.prompt.system,
          tools: deps.prompt.tools,
          messages: deps.prompt.messages,
          ...(deps.toolChoice ? { tool_choice: deps.toolChoice } : {}),
        },
        { signal: AbortSignal.any([deps.signal, idle.signal]), maxRetries: 0 },
      );
      stream.on("connect", heard);
      stream.on("streamEvent", heard);
      if (deps.onFirstToken) stream.once("streamEvent", deps.onFirstToken);
      const message = await stream.finalMessage();
      clearTimeout(watchdog);
      return { kind: "message", message, durationMs: Date.now() - started };
    } catch (err) {
      clearTimeout(watchdog);
      if (deps.signal.aborted) throw new InterruptedError("model call interrupted", { cause: err });
      const failure = idle.signal.aborted
        ? { code: "MODEL_CONNECTION_ERROR", message: `no data from the model for ${deps.policy.idleTimeoutMs} ms`, retryable: true, httpStatus: 0, retryAfterMs: undefined }
        : classifyModelError(err);
      const again = failure.retryable && attempt < deps.policy.maxAttempts;
      const delay = again ? retryDelayMs(failure, attempt, deps.policy) : undefined;
      await deps.onFailedAttempt(failure, attempt, delay);
      if (!again) return { kind: "failed", failure, attempts: attempt, exhausted: failure.retryable };
      try {
        await sleep(delay, undefined, { signal: deps.signal });
      } catch (cause) {
        throw new InterruptedError("interrupted while waiting to retry the model", { cause });
      }
    }
  }
}
