#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark in bench/ one after another. Each
// prints its figures beside the limit it is measured against in the same run, as ratios.
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { build, ensureNodeModules, root, run, step } from "./lib.mjs";

if (ensureNodeModules() !== 0) process.exit(1);
if (build() !== 0) process.exit(1);
const dir = join(root, "bench", "dist");
const only = process.argv[2];
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".bench.js") && (!only || f.includes(only))).sort() : [];
if (files.length === 0) console.log("no benchmarks yet");
let failures = 0;
for (const f of files) {
  step(`bench ${f.replace(/\.bench\.js$/, "")}`);
  if (run(process.execPath, ["--expose-gc", join(dir, f)]) !== 0) failures++;
}
process.exit(failures > 0 ? 1 : 0);
