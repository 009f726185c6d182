import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One numbered clause of SPEC.md. */
export interface SpecClause {
  readonly id: string;
  readonly level: string;
  readonly text: string;
}

/** Finds SPEC.md: the given path, else the nearest one above this package's files. */
export function findSpec(explicit?: string): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, "SPEC.md");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Parses the `- **ID (LEVEL)** text` bullets of SPEC.md, continuation lines included. */
export function parseClauses(markdown: string): Map<string, SpecClause> {
  const clauses = new Map<string, SpecClause>();
  let current: { id: string; level: string; lines: string[] } | undefined;
  const flush = () => {
    if (current) clauses.set(current.id, { id: current.id, level: current.level, text: current.lines.join(" ").replace(/\s+/g, " ").trim() });
    current = undefined;
  };
  for (const line of markdown.split("\n")) {
    const head = /^- \*\*([A-Z]+-\d+) \((MUST|SHOULD|MAY)\)\*\*\s*(.*)$/.exec(line);
    if (head) {
      flush();
      current = { id: head[1]!, level: head[2]!, lines: [head[3]!] };
    } else if (current && /^\s{2,}\S/.test(line)) {
      current.lines.push(line.trim());
    } else {
      flush();
    }
  }
  flush();
  return clauses;
}

export function readClauses(explicit?: string): Map<string, SpecClause> {
  const path = findSpec(explicit);
  return path ? parseClauses(readFileSync(path, "utf8")) : new Map();
}
