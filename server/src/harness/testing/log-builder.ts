import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { ContentBlockSchema } from "@oma/client/gen/oma/v1/content_pb.js";
import { ConfirmationDecision, EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, SessionStatus, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { toInt64 } from "../int64.js";

/** Builds logs for unit tests of the brain's pure functions: each call appends one event. */
export class LogBuilder {
  readonly events: Event[] = [];

  #add(payload: MessageInitShape<typeof EventSchema>["payload"]): this {
    this.events.push(create(EventSchema, { seq: toInt64(this.events.length + 1), id: `evt_${this.events.length + 1}`, payload }));
    return this;
  }
  user(text: string): this {
    return this.#add({ case: "userMessage", value: { content: [create(ContentBlockSchema, { block: { case: "text", value: { text } } })] } });
  }
  agent(text: string): this {
    return this.#add({ case: "agentMessage", value: { content: [create(ContentBlockSchema, { block: { case: "text", value: { text } } })] } });
  }
  thinking(thinking: string): this {
    return this.#add({ case: "agentThinking", value: { thinking, signature: "sig" } });
  }
  toolUse(id: string, name = "bash", input: JsonObject = { command: "true" }, opts: { kind?: ToolKind; requiresConfirmation?: boolean } = {}): this {
    return this.#add({
      case: "toolUse",
      value: { toolUseId: id, name, input, kind: opts.kind ?? ToolKind.SANDBOX, requiresConfirmation: opts.requiresConfirmation ?? false },
    });
  }
  toolResult(id: string, output = "ok", isError = false): this {
    return this.#add({ case: "toolResult", value: { toolUseId: id, output, isError } });
  }
  customResult(id: string, output: string): this {
    return this.#add({ case: "customToolResult", value: { toolUseId: id, output } });
  }
  confirm(id: string, allow: boolean, denyMessage = ""): this {
    return this.#add({
      case: "toolConfirmation",
      value: { toolUseId: id, decision: allow ? ConfirmationDecision.ALLOW : ConfirmationDecision.DENY, denyMessage },
    });
  }
  interrupt(): this {
    return this.#add({ case: "userInterrupt", value: {} });
  }
  harnessStarted(harnessId: string, leaseEpoch = 1): this {
    return this.#add({ case: "harnessStarted", value: { harnessId, leaseEpoch: toInt64(leaseEpoch) } });
  }
  running(): this {
    return this.#add({ case: "statusChanged", value: { status: SessionStatus.RUNNING } });
  }
  idle(stopReason = StopReason.END_TURN): this {
    return this.#add({ case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason } });
  }
  sandbox(id: string, replaces = ""): this {
    return this.#add({ case: "sandboxProvisioned", value: { sandboxId: id, backend: "process", replacesSandboxId: replaces } });
  }
  usage(inputTokens = 1, cacheRead = 0): this {
    return this.#add({ case: "modelUsage", value: { model: "m", inputTokens: toInt64(inputTokens), outputTokens: toInt64(1), cacheReadInputTokens: toInt64(cacheRead) } });
  }
  compacted(throughSeq: number, summary: string, tokensAfter = 0): this {
    return this.#add({ case: "contextCompacted", value: { strategy: ContextStrategy.COMPACT, throughSeq: toInt64(throughSeq), summary, tokensAfter: toInt64(tokensAfter) } });
  }
  cleared(throughSeq: number, tokensAfter = 0): this {
    return this.#add({ case: "contextCompacted", value: { strategy: ContextStrategy.CLEAR, throughSeq: toInt64(throughSeq), tokensAfter: toInt64(tokensAfter) } });
  }
  /** The seq the next event will get. */
  get nextSeq(): number {
    return this.events.length + 1;
  }
}
