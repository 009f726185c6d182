#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerServeCommand } from "./serve-command.js";
import { registerWorkerCommand } from "./worker-command.js";
import { registerRunCommand } from "./run-command.js";
import { registerSessionsCommands } from "./sessions-command.js";
import { registerSandboxCommand } from "./sandbox-command.js";
import { registerTokensCommand } from "./tokens-command.js";
import { registerInspectCommand } from "./inspect-command.js";
import { registerCredentialsCommand } from "./credentials-command.js";

/**
 * `oma`: the reference server and the tools people use around it. Each verb lives in its
 * own file and registers itself here.
 */
const program = new Command()
  .name("oma")
  .description("Open Managed Agents: reference server and command-line tools")
  .version(VERSION)
  .showHelpAfterError();

registerServeCommand(program);
registerSessionsCommands(program);
registerSandboxCommand(program);
registerWorkerCommand(program);
registerRunCommand(program);
registerTokensCommand(program);
registerInspectCommand(program);
registerCredentialsCommand(program);

await program.parseAsync(process.argv);
