#!/usr/bin/env node
// `npm run generate`: the code of every client language from proto/, with one command:
//   TypeScript (buf.gen.yaml: protoc-gen-es)             → clients/ts/src/gen
//   Python     (buf.gen.python.yaml: protoc + grpc plugin) → clients/python/gen
//   Go         (buf.gen.go.yaml: protoc-gen-go, -go-grpc)  → clients/go/gen
// The Python and Go plugins are Debian packages (scripts/setup-system installs them).
// `npm test` runs the same templates in a scratch copy and fails on any difference.
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { red, root, run, step } from "./lib.mjs";

/** Each template, the directory it writes, and the executables it needs on PATH. */
export const templates = [
  { language: "TypeScript", template: "buf.gen.yaml", out: "clients/ts/src/gen", needs: [] },
  { language: "Python", template: "buf.gen.python.yaml", out: "clients/python/gen", needs: ["protoc", "grpc_python_plugin"] },
  { language: "Go", template: "buf.gen.go.yaml", out: "clients/go/gen", needs: ["protoc-gen-go", "protoc-gen-go-grpc"] },
];

/** The executables a template needs that are not on PATH. */
export function missingTools(template) {
  return template.needs.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
}

/** Runs one template with buf in `cwd` (the repository or a scratch copy of it); returns the exit status. */
export function generate(template, cwd = root) {
  const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH}` };
  return run(join(root, "node_modules", ".bin", "buf"), ["generate", "--template", template.template], { cwd, env });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let failed = 0;
  for (const t of templates) {
    const missing = missingTools(t);
    if (missing.length > 0) {
      console.error(red(`generate: ${t.language} needs ${missing.join(", ")} (run scripts/setup-system)`));
      failed++;
      continue;
    }
    step(`generating ${t.language} (${t.template} → ${t.out})`);
    if (generate(t) !== 0) failed++;
  }
  process.exit(failed > 0 ? 1 : 0);
}
