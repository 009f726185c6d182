import { pino, type Logger } from "pino";

/** Errors a report quotes at most, so that a failure's first lines stay readable. */
const QUOTED = 5;

/**
 * A logger for a server under test that keeps what it logs at error level (an INTERNAL
 * answer's cause, a crashed brain) in memory, so that a failed run can say why a call was
 * answered INTERNAL: the client only ever sees "internal error".
 */
export class ErrorLog {
  readonly #lines: string[] = [];
  readonly logger: Logger = pino({ level: "error", base: { name: "oma" } }, { write: (line: string) => void this.#lines.push(line) });

  /** A mark to pass to `since`: how many errors were logged so far. */
  get mark(): number {
    return this.#lines.length;
  }

  /** The errors logged after `mark`, one line each (message, procedure, cause and where it was thrown), or "" if none. */
  since(mark = 0): string {
    const lines = this.#lines.slice(mark);
    if (lines.length === 0) return "";
    const quoted = lines.slice(0, QUOTED).map((line) => `  ${brief(line)}`);
    const more = lines.length > QUOTED ? [`  … and ${lines.length - QUOTED} more`] : [];
    return [`the server logged ${lines.length} error(s):`, ...quoted, ...more].join("\n");
  }
}

function brief(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; procedure?: string; err?: { type?: string; message?: string; stack?: string } };
    const at = entry.err?.stack?.split("\n").find((l) => l.trim().startsWith("at "))?.trim();
    return [entry.msg, entry.procedure, entry.err ? `${entry.err.type ?? "Error"}: ${entry.err.message ?? ""}` : undefined, at].filter(Boolean).join(" | ");
  } catch {
    return line.trim();
  }
}
