#!/usr/bin/env node
// `npm start [-- --port N ...]`: installs node modules if missing, builds, and starts the
// reference server (LevelDB under ~/.local/share/oma unless --data-dir/OMA_DATA_DIR,
// port 7070 unless --port/OMA_PORT). Extra arguments go to `oma serve`.
import { join } from "node:path";
import { build, ensureNodeModules, root, run, step } from "./lib.mjs";

// Fault-injection flags of `oma serve` exist for conformance testing; `npm start` never runs with one.
const fault = process.argv.slice(2).find((a) => a.startsWith("--fault-"));
if (fault) {
  console.error(`npm start: ${fault.split("=")[0]} is a fault-injection flag for conformance testing; run \`oma serve\` directly to use it`);
  process.exit(2);
}
if (ensureNodeModules() !== 0) process.exit(1);
if (build({ typeCheck: false }) !== 0) process.exit(1);
step("starting the OMA server (oma serve)");
process.exit(run(process.execPath, [join(root, "server", "dist", "cli", "main.js"), "serve", ...process.argv.slice(2)]));
