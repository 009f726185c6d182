import { randomUUID } from "node:crypto";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, type Command } from "commander";
import { OutputStream } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { connect, describeFailure, withConnectionOptions, type ConnectionFlags } from "./connection.js";

const client = (flags: ConnectionFlags) => connect(flags).sandboxes;

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a positive number of seconds, got "${value}"`);
  return n;
}

/** Prints an RPC failure as `reason: message` and sets a failing exit status. */
async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    process.stderr.write(`oma sandbox: ${describeFailure(err)}\n`);
    process.exitCode = 2;
  }
}

/**
 * `oma sandbox provision | exec | destroy`: sandboxes from the shell, over the public
 * API of a running server (--server URL, env OMA_SERVER, default 127.0.0.1:7070).
 */
export function registerSandboxCommand(program: Command): void {
  const sandbox = program.command("sandbox").description("provision sandboxes, run commands in them, destroy them (over the public API)");
  withConnectionOptions(sandbox.command("provision"))
    .description("provision a sandbox and print its id")
    .option("--backend <name>", "docker, bubblewrap or process (default: the server's)")
    .option("--image <ref>", "docker image present on the engine (default: the server's sandbox image)")
    .option("--idle-ttl <seconds>", "reap after this much idle time (default 900)", parseSeconds)
    .option("--network", "give the sandbox network access (default: none)")
    .action((flags: ConnectionFlags & { backend?: string; image?: string; idleTtl?: number; network?: boolean }) =>
      run(async () => {
        const res = await client(flags).provision({
          resources: {
            backend: flags.backend ?? "",
            image: flags.image ?? "",
            idleTtl: flags.idleTtl ? durationFromMs(flags.idleTtl * 1000) : undefined,
            network: flags.network ? { mode: 3 } : undefined,
          },
        });
        process.stdout.write(`${res.sandbox!.sandboxId}\n`);
      }),
    );
  withConnectionOptions(sandbox.command("exec"))
    .description("run a bash command in a sandbox, streaming its output; exits with the command's exit code")
    .argument("<id>", "sandbox id")
    .argument("<command...>", "the command (put it after --)")
    .option("--timeout <seconds>", "kill the command after this long (default 120)", parseSeconds)
    .action((id: string, words: string[], flags: ConnectionFlags & { timeout?: number }) =>
      run(async () => {
        const stream = client(flags).executeStream({
          sandboxId: id,
          name: "bash",
          input: { command: words.join(" ") },
          timeout: flags.timeout ? durationFromMs(flags.timeout * 1000) : undefined,
          idempotencyKey: randomUUID(),
        });
        for await (const msg of stream) {
          if (msg.message.case === "chunk") {
            (msg.message.value.stream === OutputStream.STDERR ? process.stderr : process.stdout).write(msg.message.value.data);
          } else if (msg.message.case === "result") {
            const r = msg.message.value;
            if (r.truncated) process.stderr.write("\n[output truncated]\n");
            if (r.timedOut) process.stderr.write("[killed at its timeout]\n");
            process.exitCode = r.exitCode < 0 ? 124 : r.exitCode;
          }
        }
      }),
    );
  withConnectionOptions(sandbox.command("destroy"))
    .description("destroy a sandbox (succeeds if it is already gone)")
    .argument("<id>", "sandbox id")
    .action((id: string, flags: ConnectionFlags) =>
      run(async () => {
        await client(flags).destroySandbox({ sandboxId: id });
      }),
    );
}
