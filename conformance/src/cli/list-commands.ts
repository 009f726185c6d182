import { allCases } from "../cases/all-cases.js";
import { readClauses } from "../spec/spec-clauses.js";

/** `oma-conformance list`. */
export function listCommand(flags: { json: boolean }): void {
  const rows = [...allCases].sort((a, b) => a.id.localeCompare(b.id));
  if (flags.json) {
    const data = rows.map(({ id, requirement, level, feature, title }) => ({ id, requirement, level, feature, title }));
    process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    return;
  }
  for (const c of rows) process.stdout.write(`${c.requirement.padEnd(8)} ${c.level.padEnd(6)} ${c.feature.padEnd(19)} ${c.id}\n`);
  process.stdout.write(`${rows.length} cases\n`);
}

/** `oma-conformance explain REQ-ID`: returns the exit code. */
export function explainCommand(requirement: string, specPath?: string): number {
  const id = requirement.toUpperCase();
  const clause = readClauses(specPath).get(id);
  const cases = allCases.filter((c) => c.requirement === id);
  if (!clause && cases.length === 0) {
    process.stderr.write(`no SPEC clause or case named ${id}\n`);
    return 2;
  }
  const out: string[] = [];
  out.push(clause ? `${clause.id} (${clause.level})\n  ${clause.text}` : `${id}: SPEC.md not found next to the suite (pass --spec FILE)`);
  out.push("", cases.length ? "cases:" : "no case checks this clause yet");
  for (const c of cases) out.push(`  ${c.level.padEnd(6)} ${c.feature.padEnd(19)} ${c.id}\n         ${c.title}`);
  if (cases.length) {
    out.push(
      "",
      "reproduce one case:",
      `  oma-conformance run --target http://127.0.0.1:7070 --run '${cases[0]!.id}'`,
      "",
      "poke the server by hand (buf curl uses server reflection):",
      `  buf curl --protocol grpc --http2-prior-knowledge -d '{"agent":{"model":"m"}}' http://127.0.0.1:7070/oma.v1.SessionService/CreateSession`,
      `  buf curl --protocol grpc --http2-prior-knowledge -d '{"session_id":"<id>","event":{"user_message":{"content":[{"text":{"text":"hi"}}]}}}' http://127.0.0.1:7070/oma.v1.SessionService/EmitEvent`,
      `  buf curl --protocol grpc --http2-prior-knowledge -d '{"session_id":"<id>"}' http://127.0.0.1:7070/oma.v1.SessionService/GetEvents`,
    );
  }
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
