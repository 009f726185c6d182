import type Anthropic from "@anthropic-ai/sdk";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { EventSchema, type ContextCompactedSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, type AgentConfig } from "@oma/client/gen/oma/v1/session_pb.js";
import { durationFromMs } from "../duration.js";
import { fromInt64, toInt64 } from "../int64.js";
import { contextLimits } from "../../limits.js";
import { buildConversation, type Conversation } from "./conversation.js";
import { clearingPlan, compactionCut, summaryPrompt } from "./context-plans.js";
import { estimateInputTokens, type TokenCounter } from "./context-measure.js";
import type { ModelOutcome } from "./model-call.js";
import { promptOf, type Prompt, type PromptTool } from "./prompt.js";
import type { PayloadInit } from "./session-writer.js";

/** An agent's context settings with the defaults applied (session.proto ContextManagement). */
export interface ContextSettings {
  readonly strategy: ContextStrategy.NONE | ContextStrategy.CLEAR | ContextStrategy.COMPACT;
  readonly maxInputTokens: number;
  readonly targetInputTokens: number;
  /** `max_tokens` of the summarising call: a quarter of the target, 256 to 8192. */
  readonly summaryMaxTokens: number;
}

export function contextSettings(agent: AgentConfig): ContextSettings {
  const c = agent.context;
  const strategy = c?.strategy === ContextStrategy.CLEAR || c?.strategy === ContextStrategy.COMPACT ? c.strategy : ContextStrategy.NONE;
  const maxInputTokens = c?.maxInputTokens || contextLimits.defaultMaxInputTokens;
  const targetInputTokens = c?.targetInputTokens || Math.floor(maxInputTokens / 2);
  return { strategy, maxInputTokens, targetInputTokens, summaryMaxTokens: Math.min(8192, Math.max(256, Math.floor(targetInputTokens / 4))) };
}

/** What the brain does next: send the prompt, or end the turn. */
export type Prepared =
  | { readonly kind: "ready"; readonly prompt: Prompt }
  /** The summarising call failed (its attempts are already recorded as error events). */
  | { readonly kind: "failed"; readonly outcome: Extract<ModelOutcome, { kind: "failed" }> }
  /** No action brings the request under `max_input_tokens`. */
  | { readonly kind: "exhausted"; readonly message: string };

export interface ContextDeps {
  readonly settings: ContextSettings;
  readonly systemPrompt: string;
  readonly tools: readonly PromptTool[];
  /** Exact token counts of a prompt. */
  readonly count: TokenCounter;
  /** Makes the summarising model call (with the brain's retries, interrupts and error events). */
  readonly summarise: (prompt: Prompt, toolChoice: Anthropic.ToolChoice, maxTokens: number) => Promise<ModelOutcome>;
  /** Appends a context event (and the summarising call's usage) as one batch; returns the stored events. */
  readonly record: (payloads: PayloadInit[]) => Promise<readonly Event[]>;
}

/**
 * Keeps each model request within the agent's `max_input_tokens` (HARN-21). It measures
 * the request the log gives — an upper-bound estimate from the usage already in the log,
 * then the API's exact count when the estimate is over — and, over the budget, clears
 * old tool results or summarises old turns down to `target_input_tokens`, recording the
 * action as a `context_compacted` event before the request is sent. The prompt is then
 * rebuilt from the log with that event, exactly as a successor would build it (HARN-22).
 */
export class ContextManager {
  readonly #d: ContextDeps;

  constructor(deps: ContextDeps) {
    this.#d = deps;
  }

  async prepare(events: readonly Event[]): Promise<Prepared> {
    const { settings } = this.#d;
    const conversation = buildConversation(events);
    const prompt = this.#prompt(conversation, events);
    if (settings.strategy === ContextStrategy.NONE) return { kind: "ready", prompt };
    if (estimateInputTokens(events, prompt) <= settings.maxInputTokens) return { kind: "ready", prompt };
    const before = await this.#d.count(prompt);
    if (before <= settings.maxInputTokens) return { kind: "ready", prompt };
    const started = Date.now();
    const acted = settings.strategy === ContextStrategy.CLEAR ? await this.#clear(events, conversation, prompt, before) : await this.#compact(events, conversation, prompt, before);
    if (acted.kind !== "acted") return acted;
    const { event, after, usage } = acted;
    if (after > settings.maxInputTokens) {
      const what = settings.strategy === ContextStrategy.CLEAR ? "clearing old tool results" : "summarising old turns";
      return { kind: "exhausted", message: `the next model request needs ${after} input tokens after ${what}, over max_input_tokens ${settings.maxInputTokens}` };
    }
    const value = { ...event, tokensBefore: toInt64(before), tokensAfter: toInt64(after), duration: durationFromMs(Date.now() - started) };
    // `record` may append to the very array it was given (the brain's copy of the log).
    const logged = [...events];
    const stored = await this.#d.record([...(usage ? [usage] : []), { case: "contextCompacted", value }]);
    const rebuilt = [...logged, ...stored];
    return { kind: "ready", prompt: this.#prompt(buildConversation(rebuilt), rebuilt) };
  }

  #prompt(conversation: Conversation, events: readonly Event[]): Prompt {
    return promptOf(this.#d.systemPrompt, this.#d.tools, conversation, events);
  }

  /** The prompt the log would give with `event` appended, and its exact size. */
  async #measureWith(events: readonly Event[], event: ContextEventInit): Promise<number> {
    const head = events.length > 0 ? fromInt64(events[events.length - 1]!.seq) : 0;
    const next = [...events, create(EventSchema, { seq: toInt64(head + 1), payload: { case: "contextCompacted", value: event } })];
    return this.#d.count(this.#prompt(buildConversation(next), next));
  }

  async #clear(events: readonly Event[], conversation: Conversation, prompt: Prompt, before: number): Promise<Acted | Prepared> {
    const plan = clearingPlan(events, conversation, prompt, before);
    if (plan.length === 0) return { kind: "exhausted", message: `the next model request needs ${before} input tokens, over max_input_tokens ${this.#d.settings.maxInputTokens}, and no older tool result is left to clear` };
    // The plan clears enough by the bytes it measured; the exact count decides, and a
    // short plan is extended (at most a few rounds) while the target is not reached.
    let take = plan.findIndex((p) => p.cumulativeTokens >= before - this.#d.settings.targetInputTokens) + 1 || plan.length;
    for (let round = 0; ; round++) {
      const event = { strategy: ContextStrategy.CLEAR, throughSeq: toInt64(plan[take - 1]!.seq) };
      const after = await this.#measureWith(events, event);
      if (after <= this.#d.settings.targetInputTokens || take === plan.length || round >= 3) return { kind: "acted", event, after };
      const short = after - this.#d.settings.targetInputTokens;
      const reached = plan[take - 1]!.cumulativeTokens;
      take = plan.findIndex((p) => p.cumulativeTokens >= reached + short) + 1 || plan.length;
    }
  }

  async #compact(events: readonly Event[], conversation: Conversation, prompt: Prompt, before: number): Promise<Acted | Prepared> {
    const { settings } = this.#d;
    const cut = compactionCut(conversation, prompt, before, settings.targetInputTokens - settings.summaryMaxTokens);
    if (cut === undefined) return { kind: "exhausted", message: `the next model request needs ${before} input tokens, over max_input_tokens ${settings.maxInputTokens}, and no older turn is left to summarise` };
    const throughSeq = conversation.spans[cut]!.first - 1;
    const outcome = await this.#d.summarise(summaryPrompt(this.#prompt(conversation, events), conversation, cut, throughSeq), { type: "none" }, settings.summaryMaxTokens);
    if (outcome.kind === "failed") return { kind: "failed", outcome };
    const msg = outcome.message;
    const summary = msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n").trim();
    const event = { strategy: ContextStrategy.COMPACT, throughSeq: toInt64(throughSeq), summary };
    const after = await this.#measureWith(events, event);
    const usage: PayloadInit = {
      case: "modelUsage",
      value: {
        model: msg.model,
        inputTokens: toInt64(msg.usage.input_tokens ?? 0),
        outputTokens: toInt64(msg.usage.output_tokens),
        cacheReadInputTokens: toInt64(msg.usage.cache_read_input_tokens ?? 0),
        cacheCreationInputTokens: toInt64(msg.usage.cache_creation_input_tokens ?? 0),
        duration: durationFromMs(outcome.durationMs),
      },
    };
    return { kind: "acted", event, after, usage };
  }
}

interface Acted {
  readonly kind: "acted";
  readonly event: ContextEventInit;
  readonly after: number;
  readonly usage?: PayloadInit;
}

type ContextEventInit = MessageInitShape<typeof ContextCompactedSchema>;
