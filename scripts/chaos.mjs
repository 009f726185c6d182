#!/usr/bin/env node
// `npm run chaos -- [--seed N] [--minutes M] [--sessions N] [--backend docker,bubblewrap] [--faults a,b]`:
// builds, then runs the chaos harness (chaos/): many sessions under load while processes,
// sandboxes, streams, the model and the disk fail; a table per fault kind; exit 1 on any breach.
import { join } from "node:path";
import { build, ensureNodeModules, root, run } from "./lib.mjs";

if (ensureNodeModules() !== 0) process.exit(1);
if (build() !== 0) process.exit(1);
process.exit(run(process.execPath, [join(root, "chaos", "dist", "main.js"), ...process.argv.slice(2)]));
