#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { runCommand } from "./cli/run-command.js";
import { explainCommand, listCommand } from "./cli/list-commands.js";

const program = new Command();
program.name("oma-conformance").description("the OMA conformance suite: run it against any implementation of the protocol");
// Bad flags are a broken run (exit 2), never a failed one; set before the commands so they inherit it.
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command("run")
  .description("run the suite against a running implementation (exit 0 passed, 1 a MUST failed, 2 the run broke)")
  .option("--target <url>", "base URL of the implementation, e.g. http://127.0.0.1:7070; given twice, two servers of one system over one store (the cross-server cases need both)", collect, [] as string[])
  .option("--target-cmd <command>", "launch the target (sh -c) with ANTHROPIC_BASE_URL pointing at the runner's scripted model; it must print 'OMA_LISTENING <url>'")
  .option("--worker-cmd <command>", "start brain workers of the target for fault injection; '{target}' becomes the target URL, '{id}' the worker id")
  .option("--protocol <protocol>", "grpc (via @grpc/grpc-js), connect or grpc-web", "grpc")
  .option("--profile <families>", "comma-separated families or features: session, sandbox, harness, wire, security, session.leases, …", list)
  .option("--run <pattern...>", "only cases whose id, requirement, family or feature matches (* is a wildcard)")
  .option("--skip <pattern...>", "leave out matching cases")
  .option("--report-dir <dir>", "write conformance-report.json and junit.xml here")
  .option("--timeout-scale <factor>", "multiply every case bound and wait", positive, 1)
  .option("--seed <n>", "seed of the random case order (printed; reuse it to replay an order)", integer)
  .option("--expected-failures <file>", "case ids or patterns expected to fail, one per line; one that passes fails the run")
  .option("--secret <value>", "the value of OMA_CONFORMANCE_SECRET in the target's environment (enables the SEC battery)")
  .option("--target-data-dir <dir>", "the target's data directory; the SEC battery checks a sandbox cannot see it (and its admin.token is the default --token)")
  .option("--token <token>", "bearer token for every call (env OMA_TOKEN); an admin token lets the suite mint the client and worker tokens the SEC-4 cases need")
  .option("--token-file <file>", "read the bearer token from this file")
  .option("--strict", "a failed SHOULD fails the run", false)
  .option("--concurrency <n>", "cases in flight at once", integer, 4)
  .option("--json", "print the JSON report on stdout instead of the summary", false)
  .action(async (flags) => {
    process.exitCode = await runCommand(flags);
  });

program
  .command("list")
  .description("list every case with its requirement id, level and feature")
  .option("--json", "print JSON", false)
  .action((flags: { json: boolean }) => listCommand(flags));

program
  .command("explain <requirement>")
  .description("show a SPEC clause, the cases that check it and how to reproduce one with buf curl")
  .option("--spec <file>", "SPEC.md to read (default: the one shipped next to the suite)")
  .action((requirement: string, flags: { spec?: string }) => {
    process.exitCode = explainCommand(requirement, flags.spec);
  });

await program.parseAsync();

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}
function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError("must be a positive number");
  return n;
}
function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
}
