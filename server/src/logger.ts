import { createRequire } from "node:module";
import { pino, type Logger } from "pino";

export type { Logger };

/** Structured logs on stderr: JSON when piped, readable lines on a terminal. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env["OMA_LOG_LEVEL"] ?? "info";
  const base = { name: options.name ?? "oma" };
  if (process.stderr.isTTY) {
    // Loaded only for a terminal: a server or CLI writing to a pipe never needs it.
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
    return pino({ level, base }, pretty({ destination: 2, colorize: true, ignore: "pid,hostname" }));
  }
  return pino({ level, base }, pino.destination(2));
}
