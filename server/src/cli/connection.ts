import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import type { Command } from "commander";
import { ADMIN_TOKEN_FILE } from "../auth/token-files.js";
import { resolveDataDir } from "./serve-options.js";

/** Where the CLI finds the server: --server, else env OMA_SERVER, else the local default. */
export const DEFAULT_SERVER = "http://127.0.0.1:7070";

/** The flags every verb that talks to a server takes. */
export interface ConnectionFlags {
  server?: string;
  token?: string;
  tenant?: string;
  dataDir?: string;
}

/** Adds --server, --token, --data-dir and (unless the verb has a --tenant of its own) --tenant to a verb. */
export function withConnectionOptions(command: Command, options: { tenant?: boolean } = {}): Command {
  command
    .option("--server <url>", `server URL (env OMA_SERVER; default ${DEFAULT_SERVER})`)
    .option("--token <token>", `bearer token (env OMA_TOKEN; default for a server on this machine: <data dir>/${ADMIN_TOKEN_FILE})`)
    .option("--data-dir <dir>", "the local server's data directory, where its admin token is (env OMA_DATA_DIR)");
  if (options.tenant !== false) command.option("--tenant <tenant>", "with an admin token: the tenant to act in (env OMA_TENANT)");
  return command;
}

export function serverUrl(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): string {
  return flags.server ?? env["OMA_SERVER"] ?? DEFAULT_SERVER;
}

/** Whether a URL names this machine (a loopback address or "localhost"). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/**
 * The token to send: --token, else OMA_TOKEN, else — only for a server on this machine —
 * the admin token in the local data directory. A local admin token is never sent to a
 * server elsewhere.
 */
export function resolveToken(flags: ConnectionFlags, url: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = flags.token ?? env["OMA_TOKEN"];
  if (given) return given;
  if (!isLoopbackUrl(url)) return undefined;
  try {
    return readFileSync(join(resolveDataDir(flags.dataDir, env), ADMIN_TOKEN_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The OMA clients for a verb, over gRPC, with the resolved token and tenant. */
export function connect(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): OmaClient {
  const baseUrl = serverUrl(flags, env);
  const token = resolveToken(flags, baseUrl, env);
  const tenant = flags.tenant ?? env["OMA_TENANT"];
  return createOmaClient({ baseUrl, ...(token ? { token } : {}), ...(tenant ? { tenant } : {}) });
}

/** One line for a failed call: code, reason, field and message, plus a hint for auth failures. */
export function describeFailure(err: unknown): string {
  const info = omaErrorInfo(err);
  if (!info) return String(err instanceof Error ? err.message : err);
  const text = `${Code[info.code]} ${info.reason}${info.field ? ` (${info.field})` : ""}: ${info.message}`;
  if (info.code === Code.Unauthenticated) return `${text}\n  give a token with --token or OMA_TOKEN (on the server's machine, <data dir>/${ADMIN_TOKEN_FILE} is used by itself)`;
  return text;
}
