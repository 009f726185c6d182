/**
 * The events a session_history output lists (HARN-23): each line `#seq kind text` as the
 * seq and the text after the kind. Lines of a multi-line event after its first are not
 * matched, so tests read single-line events with it.
 */
export function historyEntries(output: string): { seq: number; text: string }[] {
  const out: { seq: number; text: string }[] = [];
  for (const line of output.split("\n")) {
    const m = /^#(\d+) [a-z_]+ (.*)$/.exec(line);
    if (m) out.push({ seq: Number(m[1]), text: m[2]! });
  }
  return out;
}
