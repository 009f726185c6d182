import { spawn } from "node:child_process";
import type { Command } from "commander";
import { resolveToken, serverUrl, withConnectionOptions, type ConnectionFlags } from "./connection.js";

interface InspectFlags extends ConnectionFlags {
  open: boolean;
}

/** The inspector link that logs in with `token` (in the fragment: never sent to the server, never logged). */
export function inspectorLink(server: string, token: string, options: { sessionId?: string; tenant?: string } = {}): string {
  const url = new URL(options.sessionId ? `/sessions/${encodeURIComponent(options.sessionId)}` : "/", server);
  const fragment = new URLSearchParams({ token, ...(options.tenant ? { tenant: options.tenant } : {}) });
  url.hash = fragment.toString();
  return url.toString();
}

/** The command that opens a URL in this machine's browser, if it has a graphical session. */
function browserCommand(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform === "darwin") return "open";
  if (process.platform === "win32") return undefined;
  return env["DISPLAY"] || env["WAYLAND_DISPLAY"] ? "xdg-open" : undefined;
}

/** `oma inspect [SESSION_ID]`: prints the inspector link for the admin token, and opens it where a browser exists. */
export function registerInspectCommand(program: Command): void {
  withConnectionOptions(program.command("inspect"))
    .argument("[session-id]", "open this session's page")
    .description("print a link to the web inspector that logs in with the admin token (and open it in a browser when there is one)")
    .option("--no-open", "only print the link")
    .action((sessionId: string | undefined, flags: InspectFlags) => {
      const url = serverUrl(flags);
      const token = resolveToken(flags, url);
      if (!token) {
        process.stderr.write(`oma inspect: no token for ${url}: give one with --token or OMA_TOKEN (on the server's machine, its admin token is found by itself)\n`);
        process.exit(2);
      }
      const tenant = flags.tenant ?? process.env["OMA_TENANT"];
      const link = inspectorLink(url, token, { ...(sessionId ? { sessionId } : {}), ...(tenant ? { tenant } : {}) });
      process.stdout.write(`${link}\n`);
      const opener = flags.open ? browserCommand() : undefined;
      if (opener) {
        const child = spawn(opener, [link], { stdio: "ignore", detached: true });
        child.on("error", () => undefined);
        child.unref();
      }
    });
}
