import { userText, type OmaClient } from "@oma/client";
import { ContextStrategy, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ora } from "ora";
import { endsRun, renderRunEvent } from "./run-render.js";
import { connect, describeFailure, serverUrl, withConnectionOptions, type ConnectionFlags } from "./connection.js";

interface RunFlags extends ConnectionFlags {
  model: string;
  system?: string;
  backend?: string;
  waitForBrain: number;
  context?: "none" | "clear" | "compact";
  maxInputTokens?: number;
}

const STRATEGIES = { none: ContextStrategy.NONE, clear: ContextStrategy.CLEAR, compact: ContextStrategy.COMPACT } as const;

/** The model `oma run` asks for unless --model says otherwise. */
export const DEFAULT_RUN_MODEL = "claude-sonnet-4-5";

/** Exit status when no brain took the session. */
export const NO_BRAIN_EXIT = 3;

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a positive number of seconds, got "${value}"`);
  return n;
}

/** What `oma run` says when no brain worker took the session. */
export function noBrainMessage(server: string, sessionId: string, seconds: number): string {
  return [
    `oma run: no brain worker took session ${sessionId} within ${seconds} s: none is connected to ${server}, or every one is busy.`,
    "Brains run in worker processes that hold the model key (the server and this command never need it):",
    "  - start the server with ANTHROPIC_API_KEY set in its environment: `npm start` / `oma serve` then starts local workers; or",
    `  - start one anywhere: ANTHROPIC_API_KEY=sk-ant-... oma worker --server ${server} --token <worker token>`,
    "    (a worker token: `oma tokens create --tenant '*' --role worker`).",
    `The session stays queued: a worker that connects later runs it (\`oma events ${sessionId} --follow\` shows it).`,
  ].join("\n");
}

/**
 * Waits until a worker holds the session's brain (ListHarnesses names its worker) or the
 * log shows it started; false if neither happens within `seconds`.
 */
async function brainTookIt(oma: OmaClient, sessionId: string, seconds: number, started: () => boolean): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (started()) return true;
    const { harnesses } = await oma.harness.listHarnesses({ sessionId });
    if (harnesses.some((h) => h.workerId !== "")) return true;
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
}

/**
 * `oma run "PROMPT"`: creates a session, sends the prompt, wakes it and prints what the
 * agent does as it happens, until the session is idle. The brains hold the model key; this
 * command does not need it. When no brain takes the session it says so and how to fix it.
 */
export function registerRunCommand(program: Command): void {
  withConnectionOptions(program.command("run"))
    .description("run an agent on a prompt and print what it does until it is done")
    .argument("<prompt>", "what to ask the agent")
    .option("--model <model>", "the model", DEFAULT_RUN_MODEL)
    .option("--system <prompt>", "system prompt")
    .option("--backend <name>", "sandbox backend: docker, bubblewrap or process (default: the server's)")
    .option("--wait-for-brain <seconds>", "how long a brain worker may take to pick the session up before oma run gives up", parseSeconds, 10)
    .addOption(new Option("--context <strategy>", "how the brain keeps a long session within the model's window").choices(Object.keys(STRATEGIES)))
    .option("--max-input-tokens <n>", "input tokens one model request may carry before the context strategy acts (default 160000)", (v) => Number.parseInt(v, 10))
    .action(async (prompt: string, flags: RunFlags) => {
      const oma = connect(flags);
      const { sessions, harness } = oma;
      const color = process.stdout.isTTY === true;
      // Frames only on a terminal: a pipe or a log file gets the agent's lines alone.
      const spinner: Ora | undefined = color && process.stderr.isTTY ? (await import("ora")).default({ text: "working", discardStdin: false }) : undefined;
      const abort = new AbortController();
      try {
        const { session } = await sessions.createSession({
          agent: {
            model: flags.model,
            systemPrompt: flags.system ?? "",
            ...(flags.backend ? { sandbox: { backend: flags.backend } } : {}),
            ...(flags.context ? { context: { strategy: STRATEGIES[flags.context], maxInputTokens: flags.maxInputTokens ?? 0 } } : {}),
          },
        });
        const sessionId = session!.sessionId;
        process.stderr.write(`session ${sessionId}\n`);
        await sessions.emit(sessionId, userText(prompt), { idempotencyKey: `run:${sessionId}` });
        await harness.wake({ sessionId });
        spinner?.start();
        let started = false;
        const watching = (async (): Promise<StopReason> => {
          for await (const event of sessions.watch(sessionId, { signal: abort.signal })) {
            if (event.payload.case === "harnessStarted") started = true;
            const line = renderRunEvent(event, color);
            if (line !== undefined) {
              spinner?.clear();
              process.stdout.write(`${line}\n`);
              spinner?.render();
            }
            if (endsRun(event) && event.payload.case === "statusChanged") return event.payload.value.stopReason;
          }
          return StopReason.UNSPECIFIED;
        })();
        watching.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
        if (!(await brainTookIt(oma, sessionId, flags.waitForBrain, () => started))) {
          abort.abort();
          await watching.catch(() => undefined);
          spinner?.stop();
          process.stderr.write(`${noBrainMessage(serverUrl(flags), sessionId, flags.waitForBrain)}\n`);
          process.exit(NO_BRAIN_EXIT);
        }
        const stop = await watching;
        spinner?.stop();
        process.exit(stop === StopReason.ERROR || stop === StopReason.RETRIES_EXHAUSTED ? 1 : 0);
      } catch (err) {
        abort.abort();
        spinner?.stop();
        process.stderr.write(`oma run: ${describeFailure(err)}\n`);
        process.exit(1);
      }
    });
}
