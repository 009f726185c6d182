import { homedir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";

export const DEFAULT_PORT = 7070;

/** Parses a TCP port (0 = pick a free one). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`port must be an integer from 0 to 65535, got "${value}"`);
  }
  return port;
}

/** Parses a non-negative integer option. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`must be a non-negative integer, got "${value}"`);
  return n;
}

/** Parses an integer option of at least 1. */
export function parsePositive(value: string): number {
  const n = parseCount(value);
  if (n < 1) throw new InvalidArgumentError("must be at least 1");
  return n;
}

/** --port, else OMA_PORT, else 7070. */
export function resolvePort(flag: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (flag !== undefined) return flag;
  const fromEnv = env["OMA_PORT"];
  return fromEnv ? parsePort(fromEnv) : DEFAULT_PORT;
}

/** --data-dir, else OMA_DATA_DIR, else $XDG_DATA_HOME/oma (~/.local/share/oma). */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env["OMA_DATA_DIR"]) return env["OMA_DATA_DIR"];
  const xdg = env["XDG_DATA_HOME"] || join(homedir(), ".local", "share");
  return join(xdg, "oma");
}
