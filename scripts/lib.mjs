// Small helpers shared by the root scripts (start, test, bench). Plain Node, no
// dependencies: these scripts run before node_modules exists.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildInspector } from "./build-inspector.mjs";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const tty = process.stdout.isTTY;
const paint = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = (s) => paint("1", s);
export const red = (s) => paint("31", s);
export const yellow = (s) => paint("33", s);
export const green = (s) => paint("32", s);

/** Prints what is about to happen, as one line. */
export function step(what) {
  console.log(bold(`==> ${what}`));
}

/** Runs a command in the repository root; returns its exit status. */
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...options });
  if (r.error) {
    console.error(red(`${cmd}: ${r.error.message}`));
    return 127;
  }
  return r.status ?? 1;
}

/** npm install when node_modules is missing or older than package-lock.json. */
export function ensureNodeModules() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
  if (!stale) return 0;
  step("installing node modules (npm install)");
  return run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"]);
}

/**
 * Compiles every TypeScript project (incremental), then the inspector page; type-checks them
 * too unless `typeCheck` is false. `npm start` skips the check, which is half the time of a
 * first build (the JavaScript emitted is the same): `npm test` type-checks, and a later
 * checked build does the checks a skipped one left (tsc records them as pending).
 */
export function build({ typeCheck = true } = {}) {
  step(typeCheck ? "building (tsc -b)" : "building (tsc -b --noCheck: `npm test` type-checks)");
  const status = run(join(root, "node_modules", ".bin", "tsc"), typeCheck ? ["-b"] : ["-b", "--noCheck"]);
  return status !== 0 ? status : buildInspector({ typeCheck });
}
