import type Anthropic from "@anthropic-ai/sdk";
import { setTimeout as sleep } from "node:timers/promises";
import { InterruptedError } from "./brain-errors.js";
import { classifyModelError, retryDelayMs, type ModelFailure, type ModelRetryPolicy } from "./model-errors.js";
import type { Prompt } from "./prompt.js";

/** The outcome of one model call after retries. */
export type ModelOutcome =
  | { readonly kind: "message"; readonly message: Anthropic.Message; readonly durationMs: number }
  | { readonly kind: "failed"; readonly failure: ModelFailure; readonly attempts: number; readonly exhausted: boolean };

/**
 * Calls the model with streaming (the SDK's own retries are off so every attempt is
 * visible) and retries retryable failures with backoff honouring retry-after (HARN-12).
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
    try {
      const stream = deps.client.messages.stream(
        {
          model: deps.model,
          max_tokens: deps.maxTokens,
          system: deps.prompt.system,
          tools: deps.prompt.tools,
          messages: deps.prompt.messages,
          ...(deps.toolChoice ? { tool_choice: deps.toolChoice } : {}),
        },
        { signal: deps.signal, maxRetries: 0 },
      );
      if (deps.onFirstToken) stream.once("streamEvent", deps.onFirstToken);
      const message = await stream.finalMessage();
      return { kind: "message", message, durationMs: Date.now() - started };
    } catch (err) {
      if (deps.signal.aborted) throw new InterruptedError("model call interrupted", { cause: err });
      const failure = classifyModelError(err);
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
