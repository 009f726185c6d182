import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** Structured logs on stderr: JSON when piped, readable lines on a terminal. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env["OMA_LOG_LEVEL"] ?? "info";
  const base = { name: options.name ?? "oma" };
  if (process.stderr.isTTY) {
    return pino({ level, base }, pretty({ destination: 2, colorize: true, ignore: "pid,hostname" }));
  }
  return pino({ level, base }, pino.destination(2));
}
