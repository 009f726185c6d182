import type Anthropic from "@anthropic-ai/sdk";
import type { Client } from "@connectrpc/connect";
import { isTransientFailure, reasonOf, type OmaSessionsClient } from "@oma/client";
import { ConfirmationDecision } from "@oma/client/gen/oma/v1/event_pb.js";
import type { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { SessionStatus, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import type { ToolDescription } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { Logger } from "../../logger.js";
import { durationFromMs } from "../duration.js";
import { toInt64 } from "../int64.js";
import { analyzeLog, type PendingToolUse } from "../log-state.js";
import { FencedError, InterruptedError, StoppedError } from "./brain-errors.js";
import { Hands } from "./hands.js";
import { keepLease } from "./lease-keeper.js";
import { SESSION_HISTORY_TOOL } from "../harness-tools.js";
import { ContextManager, contextSettings } from "./context-manager.js";
import { apiTokenCounter } from "./context-measure.js";
import { runHistoryTool } from "./history-tool.js";
import { LogReader, followLog } from "./log-reader.js";
import { newTraceCursor, tracedModelCall, tracedToolCall, type TraceCursor } from "./brain-tracing.js";
import { annotateSpan, ATTR_SESSION_SEQ } from "../../telemetry/tracing.js";
import type { ModelFailure } from "./model-errors.js";
import type { ModelRetryPolicy } from "./model-retry-policy.js";
import { eventsToMessages, type Prompt } from "./prompt.js";
import { responseEvents } from "./response-events.js";
import { SessionWriter, type PayloadInit } from "./session-writer.js";
import { retryTransient } from "./transient-retry.js";
import { buildToolCatalog } from "./tool-catalog.js";
import { McpTools, type McpProxyAccess } from "./mcp-tools.js";

/** The server's storage failed or does not answer (SESS-21): no write succeeds until it answers again or the server is restarted. */
const STORAGE_REFUSALS = new Set(["STORAGE_FULL", "STORAGE_UNAVAILABLE"]);

/** Defaults of AgentConfig (session.proto). */
const DEFAULT_MAX_TOKENS = 4096;
const DEFAULT_MAX_TURN_STEPS = 100;

export interface BrainAssignment {
  readonly harnessId: string;
  readonly sessionId: string;
  readonly epoch: number;
  readonly leaseTtlMs: number;
}

export interface BrainDeps {
  /** The session's client with the SDK's keyed emit and resuming watch, authenticated with the session token. */
  readonly session: OmaSessionsClient;
  readonly sandbox: Client<typeof SandboxService>;
  readonly model: Anthropic;
  readonly workerId: string;
  readonly retry: ModelRetryPolicy;
  readonly logger: Logger;
  /** ListTools, fetched once per worker. */
  readonly sandboxTools: () => Promise<readonly ToolDescription[]>;
  /** Provision the sandbox before the first model call (the pre-lazy behaviour, for comparison). */
  readonly eagerSandbox?: boolean;
  /**
   * Aborted when the worker shuts down: the brain stops at once, writes nothing more and
   * releases its lease, so the server hands the session to a successor without waiting
   * for the lease to expire (a write still in flight is fenced by the release).
   */
  readonly stop?: AbortSignal;
  /** The server's MCP proxy (SEC-14), for agents with MCP servers. */
  readonly mcpProxy?: McpProxyAccess;
  /** Where the brain is in its trace (the worker's `traceBrain` sets it); the root if absent. */
  readonly trace?: TraceCursor;
}

/**
 * How a brain ended. "fenced": it lost its lease and wrote nothing more; "abandoned": the
 * server stayed unreachable, so the lease expires and the server re-wakes the session;
 * "stopped": the worker shut down and released the lease for a successor.
 */
export type BrainEnd = StopReason | "fenced" | "abandoned" | "stopped";

/**
 * One brain on one session (HARN-4): read the log, call the model, run tools, record
 * everything, until the turn ends; then IDLE with the stop reason and release the lease.
 */
export async function runBrain(a: BrainAssignment, deps: BrainDeps): Promise<BrainEnd> {
  const log = deps.logger.child({ sessionId: a.sessionId, harnessId: a.harnessId, epoch: a.epoch });
  const trace = deps.trace ?? newTraceCursor();
  const fence = new AbortController();
  let interrupt = new AbortController();
  const stopWatch = new AbortController();
  const stop = deps.stop ?? new AbortController().signal;
  const working = () => AbortSignal.any([fence.signal, interrupt.signal, stop]);
  const lease = keepLease({ client: deps.session, sessionId: a.sessionId, epoch: a.epoch, ttlMs: a.leaseTtlMs, onLost: () => fence.abort() });
  const reader = new LogReader(deps.session, a.sessionId);
  // The brain's own appends keep its copy of the log current without reading it back.
  const writer = new SessionWriter(deps.session, a.sessionId, a.epoch, (events) => reader.add(events));
  let mcp: McpTools | undefined;
  try {
    const [{ session }, tools] = await Promise.all([
      retryTransient(() => deps.session.getSession({ sessionId: a.sessionId })),
      retryTransient(() => deps.sandboxTools()),
      reader.refresh(),
    ]);
    const agent = session!.agent!;
    mcp = agent.mcpServers.length > 0 && deps.mcpProxy ? await McpTools.open(agent.mcpServers, a.sessionId, deps.mcpProxy, log) : undefined;
    const catalog = mcp ? mcp.extend(buildToolCatalog(agent, tools)) : buildToolCatalog(agent, tools);
    const resumedAfter = reader.headSeq;
    annotateSpan({ [ATTR_SESSION_SEQ]: resumedAfter }, trace.context);
    // The model call need not wait for this append: the writer orders every later append
    // after it, and a fenced brain fails there before it records anything.
    const started = writer.emit(
      [
        { case: "harnessStarted", value: { harnessId: a.harnessId, leaseEpoch: toInt64(a.epoch), resumedAfterSeq: toInt64(resumedAfter), workerId: deps.workerId } },
        { case: "statusChanged", value: { status: SessionStatus.RUNNING } },
      ],
      `${a.harnessId}:started`,
    );
    writer.setBarrier(started);
    // What others append reaches the copy through the watch, at the top of the next pass;
    // when the watch lags, a gap after the brain's next append or a refused guarded IDLE
    // makes the reader read.
    void followLog(
      deps.session,
      a.sessionId,
      resumedAfter,
      (event) => {
        reader.heard(event);
        if (event.payload.case === "userInterrupt") interrupt.abort();
      },
      stopWatch.signal,
    );
    const hands = new Hands({ client: deps.sandbox, writer, resources: agent.sandbox, harnessId: a.harnessId, sandboxId: analyzeLog(reader.events).sandboxId, logger: log });
    if (deps.eagerSandbox) await hands.ensure();
    const maxSteps = agent.maxTurnSteps || DEFAULT_MAX_TURN_STEPS;
    let steps = 0;

    /** Records IDLE; false when new events arrived meanwhile (the loop goes on). */
    const finish = async (reason: StopReason, detail = "", guard = true): Promise<boolean> => {
      // The head is taken once the appends before this one are in the copy.
      await writer.ready();
      const head = reader.headSeq;
      const done = await writer.emit(
        [{ case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: reason, detail } }],
        `${a.harnessId}:idle:${head}`,
        guard ? { expectedHeadSeq: head } : {},
      );
      if (done === undefined) reader.markBehind();
      return done !== undefined;
    };
    /** Each failed model attempt is an error event (HARN-12). */
    const recordFailedAttempt = async (f: ModelFailure, attempt: number, retryIn: number | undefined) => {
      await writer.emit(
        [
          {
            case: "error",
            value: {
              code: f.code,
              message: f.message,
              retryable: retryIn !== undefined,
              attempt,
              httpStatus: f.httpStatus,
              ...(retryIn !== undefined ? { retryAfter: durationFromMs(retryIn) } : {}),
            },
          },
        ],
        `${a.harnessId}:model-error:${reader.headSeq}:${attempt}`,
      );
    };
    const modelCall = (prompt: Prompt, options: { maxTokens?: number; toolChoice?: Anthropic.ToolChoice } = {}) =>
      tracedModelCall({ sessionId: a.sessionId, seq: reader.headSeq }, trace, {
        client: deps.model,
        model: agent.model,
        maxTokens: options.maxTokens ?? (agent.maxTokens || DEFAULT_MAX_TOKENS),
        prompt,
        ...(options.toolChoice ? { toolChoice: options.toolChoice } : {}),
        policy: deps.retry,
        signal: working(),
        onFailedAttempt: recordFailedAttempt,
      });
    const context = new ContextManager({
      settings: contextSettings(agent),
      systemPrompt: agent.systemPrompt,
      tools: catalog.prompt,
      count: apiTokenCounter(deps.model, agent.model, log),
      summarise: (prompt, toolChoice, maxTokens) => modelCall(prompt, { toolChoice, maxTokens }),
      record: async (payloads) => (await writer.emit(payloads, `${a.harnessId}:context:${reader.headSeq}`)) ?? [],
    });
    /**
     * Records a call's result under a key of the call's own. IDEMPOTENCY_KEY_REUSED says a
     * different result of this call is in the log already (a predecessor's append that was
     * still being written when this brain read the log): the call is answered, and the log
     * is read on instead of ending the turn on it.
     */
    const recordResult = async (p: PendingToolUse, r: { output: string; isError: boolean; truncated?: boolean; sandboxId?: string; replayed?: boolean; exitCode?: number; durationMs?: number }) => {
      try {
        await writer.emit(
          [{ case: "toolResult", value: { toolUseId: p.toolUse.toolUseId, output: r.output, isError: r.isError, truncated: r.truncated ?? false, sandboxId: r.sandboxId ?? "", replayed: r.replayed ?? false, exitCode: r.exitCode ?? 0, ...(r.durationMs !== undefined ? { duration: durationFromMs(r.durationMs) } : {}) } }],
          `result:${p.toolUse.toolUseId}`,
        );
      } catch (err) {
        if (reasonOf(err) !== "IDEMPOTENCY_KEY_REUSED") throw err;
        log.info({ toolUseId: p.toolUse.toolUseId }, "the call's result is in the log already; reading on");
        reader.markBehind();
      }
    };

    for (;;) {
      if (fence.signal.aborted) throw new FencedError("lease lost");
      if (stop.aborted) throw new StoppedError("the worker is shutting down");
      await reader.catchUp();
      const state = analyzeLog(reader.events);
      if (interrupt.signal.aborted || state.interrupted) {
        for (const p of state.pendingToolUses) await recordResult(p, { output: "Interrupted by the user before the tool call finished.", isError: true });
        if (state.newInput) {
          // A message came after the interrupt: it supersedes it and the turn goes on.
          interrupt = new AbortController();
          continue;
        }
        if (await finish(StopReason.INTERRUPTED)) return StopReason.INTERRUPTED;
        continue;
      }
      try {
        if (state.pendingToolUses.length > 0) {
          let waiting = false;
          for (const p of state.pendingToolUses) {
            if (p.toolUse.kind === ToolKind.CUSTOM || (p.toolUse.requiresConfirmation && !p.confirmation)) {
              waiting = true;
            } else if (p.confirmation?.decision === ConfirmationDecision.DENY) {
              await recordResult(p, { output: p.confirmation.denyMessage || "The user denied this tool call.", isError: true });
            } else if (p.toolUse.kind === ToolKind.HARNESS) {
              // Built-in tools run here, not in a sandbox (HARN-23).
              const outcome =
                p.toolUse.name === SESSION_HISTORY_TOOL
                  ? await runHistoryTool(deps.session, a.sessionId, p.toolUse.input ?? {}, p.seq)
                  : { output: `${p.toolUse.name} is not a tool of this harness.`, isError: true };
              await recordResult(p, outcome);
            } else {
              const outcome = await tracedToolCall({ sessionId: a.sessionId, seq: p.seq }, trace, p.toolUse, () =>
                mcp?.routes(p.toolUse) ? mcp.call(p.toolUse, working()) : hands.execute(p.toolUse, working()),
              );
              await recordResult(p, outcome);
            }
          }
          if (waiting && (await finish(StopReason.REQUIRES_ACTION))) return StopReason.REQUIRES_ACTION;
          continue;
        }
        const last = eventsToMessages(reader.events).at(-1);
        if (!last || last.role === "assistant") {
          if (await finish(StopReason.END_TURN)) return StopReason.END_TURN;
          continue;
        }
        if (++steps > maxSteps) {
          await finish(StopReason.MAX_STEPS, `more than ${maxSteps} model calls in one turn`, false);
          return StopReason.MAX_STEPS;
        }
        const prepared = await context.prepare(reader.events);
        if (prepared.kind === "exhausted") {
          await writer.emit(
            [
              { case: "error", value: { code: "CONTEXT_EXHAUSTED", message: prepared.message } },
              { case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: StopReason.ERROR, detail: prepared.message } },
            ],
            `${a.harnessId}:context-exhausted:${reader.headSeq}`,
          );
          return StopReason.ERROR;
        }
        const outcome = prepared.kind === "failed" ? prepared.outcome : await modelCall(prepared.prompt);
        if (outcome.kind === "failed") {
          const reason = outcome.exhausted ? StopReason.RETRIES_EXHAUSTED : StopReason.ERROR;
          await finish(reason, outcome.failure.message, false);
          return reason;
        }
        const msg = outcome.message;
        await writer.emit(responseEvents(msg, catalog, outcome.durationMs), `response:${msg.id}`);
        if (msg.stop_reason === "max_tokens") {
          // A call cut off mid-response is not run; left pending it would read as work to resume.
          for (const p of analyzeLog(reader.events).pendingToolUses) {
            if (p.toolUse.kind !== ToolKind.CUSTOM) await recordResult(p, { output: "Not run: the response was cut off at max_tokens.", isError: true });
          }
          await finish(StopReason.MAX_TOKENS, "", false);
          return StopReason.MAX_TOKENS;
        }
      } catch (err) {
        if (err instanceof InterruptedError) continue; // the next pass records the interrupt
        throw err;
      }
    }
  } catch (err) {
    if (err instanceof FencedError || fence.signal.aborted) {
      log.warn("lease lost: another brain owns the session; stopping without writing");
      return "fenced";
    }
    if (err instanceof StoppedError || stop.aborted) {
      log.info("worker shutting down: leaving the session to a successor");
      return "stopped";
    }
    if (isTransientFailure(err) || STORAGE_REFUSALS.has(reasonOf(err))) {
      // The server stayed out of reach, or its storage takes no write until it answers
      // again or the server is restarted (SESS-21): leave the session to a successor, write nothing.
      log.warn({ err: (err as Error).message }, "server unreachable or refusing writes; leaving the session to a successor");
      return "abandoned";
    }
    log.error({ err }, "brain failed");
    const message = err instanceof Error ? err.message : String(err);
    try {
      // Calls left without a result would read as unfinished work and wake the session
      // again and again; they get an error result, then the turn ends with ERROR.
      await reader.refresh().catch(() => undefined);
      const pending = analyzeLog(reader.events).pendingToolUses.filter((p) => p.toolUse.kind !== ToolKind.CUSTOM);
      const payloads: PayloadInit[] = [
        { case: "error", value: { code: "BRAIN_ERROR", message } },
        ...pending.map((p): PayloadInit => ({ case: "toolResult", value: { toolUseId: p.toolUse.toolUseId, output: `The call was not completed: ${message}`, isError: true } })),
        { case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: StopReason.ERROR, detail: message } },
      ];
      await writer.emit(payloads, `${a.harnessId}:brain-error`);
    } catch {
      // Nothing more can be recorded; the lease expires and the server decides.
    }
    return StopReason.ERROR;
  } finally {
    await mcp?.close();
    // Before the release, so no append of this brain is left in flight once the lease is free.
    await writer.close();
    lease.stop();
    stopWatch.abort();
    if (!fence.signal.aborted) await deps.session.releaseLease({ sessionId: a.sessionId, epoch: toInt64(a.epoch) }).catch(() => undefined);
  }
}
