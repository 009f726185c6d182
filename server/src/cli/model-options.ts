import type { Command } from "commander";
import { defaultModelRetryPolicy, type ModelRetryPolicy } from "../harness/worker/model-retry-policy.js";
import { parsePositive } from "./serve-options.js";

/** The model flags of `oma worker`, which `oma serve` takes too and hands to its local workers. */
export interface ModelFlags {
  modelMaxAttempts: number;
  modelBackoffMs: number;
  modelIdleTimeoutMs: number;
}

export function withModelOptions(command: Command): Command {
  return command
    .option("--model-max-attempts <n>", "attempts per model call, retries included", parsePositive, defaultModelRetryPolicy.maxAttempts)
    .option("--model-backoff-ms <ms>", "backoff before the first model retry; doubles each time", parsePositive, defaultModelRetryPolicy.initialBackoffMs)
    .option("--model-idle-timeout-ms <ms>", "give up (and retry) a model call that sends nothing for this long", parsePositive, defaultModelRetryPolicy.idleTimeoutMs);
}

export function modelRetryPolicy(flags: ModelFlags): ModelRetryPolicy {
  return { ...defaultModelRetryPolicy, maxAttempts: flags.modelMaxAttempts, initialBackoffMs: flags.modelBackoffMs, idleTimeoutMs: flags.modelIdleTimeoutMs };
}

/** The same flags as arguments of `oma worker`, for the workers `oma serve` starts. */
export function modelArgs(flags: ModelFlags): string[] {
  return ["--model-max-attempts", String(flags.modelMaxAttempts), "--model-backoff-ms", String(flags.modelBackoffMs), "--model-idle-timeout-ms", String(flags.modelIdleTimeoutMs)];
}
