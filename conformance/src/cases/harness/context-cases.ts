import { ContextStrategy, StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { bySteps, lastToolResults, promptTokens, stepOf, type RecordedRequest } from "../../scripted-model/index.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { CaseSkipped, check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { readAll, S } from "../session/session-helpers.js";
import { H, lastStatus, ofKind, untilIdle } from "./harness-helpers.js";
import {
  MAX_INPUT,
  WINDOW,
  contextEvents,
  contextSession,
  deferred,
  kindName,
  largestPrompt,
  listedEvents,
  newestEvents,
  CALLS,
  printStep,
  stepRequests,
  strategyName,
  toolResults,
} from "./context-helpers.js";

const context = { feature: "harness.context", level: "MUST", needs: ["harness"], timeoutMs: 90_000 } as const;
const STEPS = 20;

/** HARN-21: a session of STEPS × CALLS tool calls outgrows the window and completes under `strategy`. */
function pastTheWindow(strategy: ContextStrategy.CLEAR | ContextStrategy.COMPACT): ConformanceCase {
  const name = strategyName(strategy);
  return {
    ...context,
    id: `harness/HARN-21/${name.toLowerCase()}-past-the-window`,
    requirement: "HARN-21",
    title: `under ${name}, ${STEPS * CALLS} tool calls that outgrow the model's window complete; no request exceeds max_input_tokens, each action is a context_compacted event, and the log keeps every result`,
    async run(ctx) {
      const { sessionId, model, at } = await contextSession(ctx, strategy, bySteps({ steps: STEPS, step: printStep }));
      const turn = await untilIdle(ctx, sessionId, at, 80_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
      const results = await toolResults(ctx, sessionId);
      checkEqual(results.length, STEPS * CALLS, "tool results in the log");
      check(
        results.every((r, k) => !r.isError && r.output.startsWith(`step-${Math.floor(k / CALLS)}-${k % CALLS}\n`)),
        "every call's result is in the log, in order and whole",
      );
      const acts = contextEvents(await readAll(ctx, sessionId));
      check(acts.length >= 1, `the session outgrew the window (${WINDOW} tokens) but no context_compacted event was recorded`);
      for (const act of acts) {
        checkEqual(act.strategy, strategy, "context_compacted.strategy");
        check(act.tokensAfter <= BigInt(MAX_INPUT) && act.tokensAfter < act.tokensBefore, `context_compacted at #${act.seq}: tokens ${act.tokensBefore} → ${act.tokensAfter} (max_input_tokens ${MAX_INPUT})`);
        check(act.throughSeq > 0n && act.throughSeq < BigInt(act.seq), `context_compacted at #${act.seq}: through_seq ${act.throughSeq} must name an earlier event`);
        check((act.summary !== "") === (strategy === ContextStrategy.COMPACT), `context_compacted at #${act.seq}: a summary exactly under COMPACT`);
      }
      const requests = ctx.harness!.requests(model);
      check(requests.every((r) => r.response?.kind !== "error"), "a request was rejected by the model (over its window?)");
      const largest = largestPrompt(stepRequests(requests));
      check(largest <= MAX_INPUT, `a request carried ${largest} input tokens, over max_input_tokens ${MAX_INPUT}`);
    },
  };
}

/** HARN-22: the brain is killed right after its first action; its successor sends the same next request. */
function successorRebuilds(strategy: ContextStrategy.CLEAR | ContextStrategy.COMPACT): ConformanceCase {
  const name = strategyName(strategy);
  return {
    ...context,
    id: `harness/HARN-22/${name.toLowerCase()}-successor-rebuilds-the-context`,
    requirement: "HARN-22",
    exclusive: true,
    timeoutMs: 150_000,
    title: `under ${name}, SIGKILL of the worker right after the first context_compacted: the successor's first request is byte-identical in its messages to the one the killed brain sent, without acting again`,
    async run(ctx) {
      const fixture = ctx.harness!;
      if (!fixture.startWorker) throw new CaseSkipped("no runner-controlled worker (run with --worker-cmd)");
      await fixture.startWorker(ctx.uniqueId("worker"));
      const steps = bySteps({ steps: STEPS, step: printStep });
      const hold = deferred();
      let held: RecordedRequest | undefined;
      let previous = 0;
      let actionsSeenBySuccessor: number | undefined;
      const { sessionId, model, at } = await contextSession(ctx, strategy, async (req) => {
        // What the log held when the successor asked first: an action of its own would be in it.
        if (held && req !== held && actionsSeenBySuccessor === undefined) actionsSeenBySuccessor = contextEvents(await newestEvents(ctx, sessionId)).length;
        // The first step request whose prompt is smaller than the one before follows the first action.
        if (!held && stepOf(req.body) !== "summary") {
          const tokens = promptTokens(req.body);
          if (previous > 0 && tokens < previous) {
            held = req;
            await hold.promise;
          }
          previous = tokens;
        }
        return steps(req);
      });
      const deadline = Date.now() + ctx.scaled(60_000);
      while (!held) {
        check(Date.now() < deadline, "no step request with a smaller prompt (after a context action) came within 60 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = await newestEvents(ctx, sessionId);
      const brain = (await ctx.rpc.unary(H.listHarnesses, { sessionId })).harnesses[0];
      check(brain, "ListHarnesses must show the brain that holds the request");
      if (!(await fixture.killWorker(brain.workerId))) throw new CaseSkipped(`the brain runs on worker ${brain.workerId}, which the runner did not start`);
      hold.release();
      await fixture.startWorker(ctx.uniqueId("worker"));
      await wakeWhenFree(ctx, sessionId);
      const turn = await untilIdle(ctx, sessionId, at, 120_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
      const requests = ctx.harness!.requests(model);
      const next = requests[requests.indexOf(held!) + 1];
      check(next, "the successor made no model request");
      check(stepOf(next.body) !== "summary", "the successor summarised again instead of rebuilding the context from the log");
      checkEqual(actionsSeenBySuccessor, 1, "context_compacted events in the log at the successor's first request (it must not act again)");
      checkEqual(contextEvents(before).length, 1, "context_compacted events when the brain was killed");
      const [mine, theirs] = [JSON.stringify(next.body.messages), JSON.stringify(held!.body.messages)];
      check(mine === theirs, `the successor's first request differs from the killed brain's: ${firstDifference(mine, theirs)}`);
    },
  };
}

/** Where two texts part, with a little of each around that point. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const around = (t: string) => JSON.stringify(t.slice(Math.max(0, i - 40), i + 80));
  return `at character ${i} of ${a.length} / ${b.length}: successor ${around(a)}, killed brain ${around(b)}`;
}

/** Wakes the session once no brain holds it (for targets that do not re-wake by themselves). */
async function wakeWhenFree(ctx: CaseContext, sessionId: string): Promise<void> {
  const deadline = Date.now() + ctx.scaled(30_000);
  while (Date.now() < deadline) {
    const session = (await ctx.rpc.unary(S.getSession, { sessionId })).session;
    if (!session?.lease) {
      await ctx.rpc.unary(H.wake, { sessionId });
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const contextCases: ConformanceCase[] = [
  pastTheWindow(ContextStrategy.COMPACT),
  pastTheWindow(ContextStrategy.CLEAR),
  {
    ...context,
    id: "harness/HARN-21/none-ends-at-the-window",
    requirement: "HARN-21",
    title: "under NONE, a session that outgrows the model's window ends its turn with a non-retryable error event and IDLE / ERROR, and records no context action",
    async run(ctx) {
      const { sessionId, model, at } = await contextSession(ctx, ContextStrategy.NONE, bySteps({ steps: STEPS, step: printStep }));
      const turn = await untilIdle(ctx, sessionId, at, 60_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.ERROR, "stop reason");
      check(ofKind(turn, "error").some((e) => !e.retryable), "a non-retryable error event must say why the turn ended");
      checkEqual(contextEvents(turn).length, 0, "context_compacted events under NONE");
      const last = ctx.harness!.requests(model).at(-1);
      check(last && promptTokens(last.body) > WINDOW, "the turn ended before the conversation outgrew the window");
    },
  },
  {
    ...context,
    needs: [],
    timeoutMs: 15_000,
    id: "harness/HARN-21/invalid-context-settings",
    requirement: "HARN-21",
    title: "CreateSession rejects an unknown strategy and token bounds out of range with INVALID_FIELD naming the field, and creates nothing",
    async run(ctx) {
      const bad: [Record<string, number>, string][] = [
        [{ strategy: 99 }, "agent.context.strategy"],
        [{ strategy: ContextStrategy.COMPACT, maxInputTokens: 1023 }, "agent.context.max_input_tokens"],
        [{ strategy: ContextStrategy.CLEAR, maxInputTokens: 4000, targetInputTokens: 4000 }, "agent.context.target_input_tokens"],
        [{ strategy: ContextStrategy.CLEAR, targetInputTokens: 255 }, "agent.context.target_input_tokens"],
      ];
      for (const [contextSettings, field] of bad) {
        const sessionId = ctx.uniqueId("ctx-bad");
        await expectFailure(
          ctx.rpc.unary(S.createSession, { sessionId, agent: { model: "m", context: contextSettings } }),
          { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field },
          `CreateSession with context ${JSON.stringify(contextSettings)}`,
        );
        await expectFailure(ctx.rpc.unary(S.getSession, { sessionId }), { code: "NOT_FOUND", reason: "SESSION_NOT_FOUND" }, "the rejected session");
      }
    },
  },
  successorRebuilds(ContextStrategy.COMPACT),
  successorRebuilds(ContextStrategy.CLEAR),
  {
    ...context,
    id: "harness/HARN-23/history-after-compaction",
    requirement: "HARN-23",
    title: "after a compaction the model finds a marker from its first step with session_history (search), and reads exact slices by range and before a seq; the calls run in the brain (kind HARNESS)",
    async run(ctx) {
      const marker = ctx.uniqueId("MARKER");
      const SEARCH = 15;
      const listed = (req: RecordedRequest) => listedEvents(String(lastToolResults(req.body)[0]?.content ?? ""));
      const markerSeq = (req: RecordedRequest) => listed(req).filter((e) => e.line.includes(marker) && e.kind === "tool_result").at(-1)?.seq ?? 1;
      const { sessionId, model, at } = await contextSession(
        ctx,
        ContextStrategy.COMPACT,
        bySteps({
          steps: SEARCH + 3,
          step: (n, req) => {
            if (n === 0) return { content: [{ type: "tool_use", name: "bash", input: { command: `echo ${marker}` } }] };
            if (n === SEARCH) return { content: [{ type: "tool_use", name: "session_history", input: { search: marker } }] };
            if (n === SEARCH + 1) return { content: [{ type: "tool_use", name: "session_history", input: { from_seq: markerSeq(req), to_seq: markerSeq(req) + 3 } }] };
            if (n === SEARCH + 2) return { content: [{ type: "tool_use", name: "session_history", input: { before_seq: listed(req)[0]?.seq ?? 1, count: 3 } }] };
            return printStep(n);
          },
        }),
      );
      const turn = await untilIdle(ctx, sessionId, at, 80_000);
      checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
      const log = await readAll(ctx, sessionId);
      const resultEvent = log.find((e) => e.payload.case === "toolResult" && e.payload.value.output.includes(marker));
      check(resultEvent, "the marker's tool result is not in the log");
      const seq = Number(resultEvent.seq);
      const acts = contextEvents(log).filter((a) => a.strategy === ContextStrategy.COMPACT);
      check(acts.length > 0 && acts[0]!.throughSeq >= BigInt(seq), "the session must have been compacted past the marker before the search");
      const asking = ctx.harness!.requests(model).find((r) => stepOf(r.body) === SEARCH);
      check(asking && !JSON.stringify(asking.body.messages).includes(marker), "the marker must be out of the context when the model searches for it");
      const uses = ofKind(log, "toolUse").filter((u) => u.name === "session_history");
      checkEqual(uses.length, 3, "session_history calls");
      check(uses.every((u) => u.kind === ToolKind.HARNESS), "session_history calls are recorded with kind HARNESS");
      const outputs = uses.map((u) => ofKind(log, "toolResult").find((r) => r.toolUseId === u.toolUseId));
      check(outputs.every((o) => o && !o.isError && o.sandboxId === ""), "session_history results: no error, no sandbox");
      const [found, range, before] = outputs.map((o) => listedEvents(o!.output));
      check(found!.some((e) => e.seq === seq && e.kind === "tool_result" && e.line.includes(marker)), `the search must list #${seq} tool_result with the marker`);
      const expected = (seqs: number[]) => seqs.map((s) => `#${s} ${kindName(log[s - 1]!)}`).join(", ");
      checkEqual(range!.map((e) => `#${e.seq} ${e.kind}`).join(", "), expected([seq, seq + 1, seq + 2, seq + 3]), "events listed for the range");
      checkEqual(before!.map((e) => `#${e.seq} ${e.kind}`).join(", "), expected([seq - 3, seq - 2, seq - 1]), "events listed before the range");
      const after = ctx.harness!.requests(model).find((r) => stepOf(r.body) === SEARCH + 1);
      check(after && JSON.stringify(after.body.messages).includes(marker), "the model must receive what session_history read");
    },
  },
];
