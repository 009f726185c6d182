import type { JsonObject } from "@bufbuild/protobuf";
import type { Execution, ExecResult } from "./execution.js";
import type { RunnerConnection } from "./runner-connection.js";

/**
 * Runs one validated tool call through a sandbox's runner, feeding `execution` as output
 * arrives, and returns the result the model sees. `maxOutputBytes` bounds what is kept
 * and sent (SBX-6); the runner kills the command's process group at `timeoutMs` (SBX-5)
 * or when `cancel` fires.
 */
export async function runTool(runner: RunnerConnection, name: string, input: JsonObject, timeoutMs: number, maxOutputBytes: number, execution: Execution, cancel?: AbortSignal): Promise<ExecResult> {
  const started = performance.now();
  if (name === "bash") {
    const own = typeof input["timeout"] === "number" ? input["timeout"] : timeoutMs;
    const effective = Math.min(timeoutMs, own);
    const { id, done } = runner.runCommand(String(input["command"]), effective, maxOutputBytes, (s, d) => execution.append(s, d));
    const onCancel = () => runner.kill(id, false);
    cancel?.addEventListener("abort", onCancel, { once: true });
    const outcome = await done.finally(() => cancel?.removeEventListener("abort", onCancel));
    const notes: string[] = [];
    const truncated = outcome.totalBytes > maxOutputBytes;
    if (truncated) notes.push(truncationMarker(maxOutputBytes, outcome.totalBytes));
    if (outcome.timedOut) notes.push(`[killed: the command ran past its ${effective} ms timeout]`);
    else if (outcome.exitCode !== 0) notes.push(`[exit code ${outcome.exitCode}]`);
    return {
      output: joinNotes(execution.bytes().toString("utf8"), notes),
      isError: outcome.timedOut || outcome.exitCode !== 0,
      exitCode: outcome.timedOut ? -1 : outcome.exitCode,
      truncated,
      durationMs: performance.now() - started,
      timedOut: outcome.timedOut,
    };
  }
  const outcome = await runner.runFileTool(name, input, maxOutputBytes);
  execution.append(1, Buffer.from(outcome.output, "utf8"));
  const truncated = outcome.totalBytes > maxOutputBytes;
  return {
    output: truncated ? joinNotes(outcome.output, [truncationMarker(maxOutputBytes, outcome.totalBytes)]) : outcome.output,
    isError: outcome.isError,
    exitCode: outcome.isError ? 1 : 0,
    truncated,
    durationMs: performance.now() - started,
    timedOut: false,
  };
}

/** The visible marker at the end of a cut output. */
export function truncationMarker(kept: number, total: number): string {
  return `[output truncated: showing the first ${kept} of ${total} bytes]`;
}

function joinNotes(output: string, notes: string[]): string {
  if (notes.length === 0) return output;
  const sep = output === "" || output.endsWith("\n") ? "" : "\n";
  return `${output}${sep}${notes.join("\n")}`;
}
