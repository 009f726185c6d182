import { omaErrorInfo } from "@oma/client";
import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Command } from "commander";
import { setTimeout as sleep } from "node:timers/promises";
import ora from "ora";
import { fromInt64, toInt64 } from "../harness/int64.js";
import { endsRun, renderRunEvent } from "./run-render.js";
import { connect, describeFailure, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { MISSING_KEY_MESSAGE } from "./worker-command.js";

interface RunFlags extends ConnectionFlags {
  model: string;
  system?: string;
  backend?: string;
}

/** Pause before a broken watch is reopened. */
const RECONNECT_MS = 250;

/** The model `oma run` asks for unless --model says otherwise. */
export const DEFAULT_RUN_MODEL = "claude-sonnet-4-5";

/**
 * `oma run "PROMPT"`: creates a session, sends the prompt, wakes it and prints what the
 * agent does as it happens, until the session is idle.
 */
export function registerRunCommand(program: Command): void {
  withConnectionOptions(program.command("run"))
    .description("run an agent on a prompt and print what it does until it is done")
    .argument("<prompt>", "what to ask the agent")
    .option("--model <model>", "the model", DEFAULT_RUN_MODEL)
    .option("--system <prompt>", "system prompt")
    .option("--backend <name>", "sandbox backend: docker, bubblewrap or process (default: the server's)")
    .action(async (prompt: string, flags: RunFlags) => {
      if (!process.env["ANTHROPIC_API_KEY"] && !process.env["ANTHROPIC_AUTH_TOKEN"]) {
        process.stderr.write(`${MISSING_KEY_MESSAGE}\nThe workers started by \`npm start\` / \`oma serve\` read it from the same environment.\n`);
        process.exit(2);
      }
      const { sessions, harness } = connect(flags);
      const color = process.stdout.isTTY === true;
      const spinner = ora({ text: "working", isEnabled: color, discardStdin: false });
      try {
        const { session } = await sessions.createSession({
          agent: { model: flags.model, systemPrompt: flags.system ?? "", ...(flags.backend ? { sandbox: { backend: flags.backend } } : {}) },
        });
        const sessionId = session!.sessionId;
        process.stderr.write(`session ${sessionId}\n`);
        await sessions.emitEvent({
          sessionId,
          event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: prompt } } }] } } },
          idempotencyKey: `run:${sessionId}`,
        });
        await harness.wake({ sessionId });
        spinner.start();
        let last = 0;
        let stop = StopReason.UNSPECIFIED;
        outer: for (;;) {
          try {
            for await (const res of sessions.watchEvents({ sessionId, afterSeq: toInt64(last) })) {
              if (res.message.case !== "event") continue;
              const event = res.message.value;
              last = fromInt64(event.seq);
              const line = renderRunEvent(event, color);
              if (line !== undefined) {
                spinner.clear();
                process.stdout.write(`${line}\n`);
                spinner.render();
              }
              if (endsRun(event) && event.payload.case === "statusChanged") {
                stop = event.payload.value.stopReason;
                break outer;
              }
            }
          } catch (err) {
            // A broken stream (no OMA reason) or a lagging watch resumes after the last seq.
            if (omaErrorInfo(err)?.reason && omaErrorInfo(err)?.reason !== "WATCHER_TOO_SLOW") throw err;
            await sleep(RECONNECT_MS);
          }
        }
        spinner.stop();
        process.exit(stop === StopReason.ERROR || stop === StopReason.RETRIES_EXHAUSTED ? 1 : 0);
      } catch (err) {
        spinner.stop();
        process.stderr.write(`oma run: ${describeFailure(err)}\n`);
        process.exit(1);
      }
    });
}
