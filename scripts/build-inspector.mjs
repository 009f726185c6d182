// Builds the inspector (server/inspector: Preact + Vite) into server/dist/inspector, where
// `oma serve` serves it from. Part of every build (npm start, npm test): it type-checks the
// page (not for npm start), then bundles it; when nothing it is made from changed since the
// last build (a hash of its sources, the TypeScript client and the lock file), and the page
// was type-checked if a check is asked for, the build is skipped.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { root, run, step } from "./lib.mjs";


function* files(dir) {
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name === "dist" || name === "gen-test") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

/** A hash of everything the bundle is made from. */
function inputsHash(inspector) {
  const hash = createHash("sha256");
  for (const dir of [inspector, join(root, "clients", "ts", "src")]) {
    for (const path of files(dir)) {
      if (/\.test\.tsx?$/.test(path)) continue;
      hash.update(relative(root, path)).update("\0").update(readFileSync(path)).update("\0");
    }
  }
  hash.update(readFileSync(join(root, "package-lock.json")));
  return hash.digest("hex");
}

/** Returns 0 on success (or when the bundle is up to date), else the failing step's status. */
export function buildInspector({ typeCheck = true } = {}) {
  // Resolved here, not at module load: lib.mjs and this module import each other.
  const inspector = join(root, "server", "inspector");
  const stampFile = join(root, "server", "dist", "inspector.stamp");
  const hash = inputsHash(inspector);
  const built = join(root, "server", "dist", "inspector", "index.html");
  // The stamp is the hash, with " checked" when the page was type-checked too.
  const stamp = existsSync(built) && existsSync(stampFile) ? readFileSync(stampFile, "utf8") : "";
  if (stamp === `${hash} checked` || (!typeCheck && stamp === hash)) return 0;
  step(typeCheck ? "building the inspector (tsc, vite build)" : "building the inspector (vite build)");
  const bin = (name) => join(root, "node_modules", ".bin", name);
  if (typeCheck) {
    const status = run(bin("tsc"), ["-p", join("server", "inspector")]);
    if (status !== 0) return status;
  }
  const status = run(bin("vite"), ["build", "--config", join("server", "inspector", "vite.config.mjs")]);
  if (status !== 0) return status;
  writeFileSync(stampFile, typeCheck ? `${hash} checked` : hash);
  return 0;
}
