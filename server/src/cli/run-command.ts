import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { omaErrorInfo } from "@oma/client";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { Command } from "commander";
import { setTimeout as sleep } from "node:timers/promises";
import ora from "ora";
import { fromInt64, toInt64 } from "../harness/int64.js";
import { endsRun, renderRunEvent } from "./run-render.js";
import { DEFAULT_SERVER } from "./sessions-command.js";
import { MISSING_KEY_MESSAGE } from "./worker-command.js";

interface RunFlags {
  server?: string;
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
  program
    .command("run")
    .description("run an agent on a prompt and print what it does until it is done")
    .argument("<prompt>", "what to ask the agent")
    .option("--server <url>", `server URL (env OMA_SERVER; default ${DEFAULT_SERVER})`)
    .option("--model <model>", "the model", DEFAULT_RUN_MODEL)
    .option("--system <prompt>", "system prompt")
    .option("--backend <name>", "sandbox backend: docker, bubblewrap or process (default: the server's)")
    .action(async (prompt: string, flags: RunFlags) => {
      if (!process.env["ANTHROPIC_API_KEY"] && !process.env["ANTHROPIC_AUTH_TOKEN"]) {
        process.stderr.write(`${MISSING_KEY_MESSAGE}\nThe workers started by \`npm start\` / \`oma serve\` read it from the same environment.\n`);
        process.exit(2);
      }
      const transport = createGrpcTransport({ baseUrl: flags.server ?? process.env["OMA_SERVER"] ?? DEFAULT_SERVER });
      const sessions = createClient(SessionService, transport);
      const harness = createClient(HarnessService, transport);
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
        const info = omaErrorInfo(err);
        process.stderr.write(`oma run: ${info ? `${info.reason || info.code}: ${info.message}` : String(err)}\n`);
        process.exit(1);
      }
    });
}
