// Broken variants of MCP through the proxy (the brain runs out of process, so defects are
// applied where its events and the session's config pass the server).
import { patch, rewriteEmits, type BrokenVariant } from "./variant-kit.js";

type CredentialReq = { credential?: { kind: { case?: string; value?: { token?: string } } } };
type ToolResultEvent = { payload: { case?: string; value?: { output?: string; isError?: boolean } } };

const bearers: string[] = [];

/** Defects in keeping MCP credentials out of the log and failures visible. */
export const mcpVariants: readonly BrokenVariant[] = [
  {
    name: "MCP tool results are recorded without is_error",
    breaks: ["SEC-14"],
    profile: ["harness/SEC-14/mcp-tools-through-the-proxy"],
    needsHarness: true,
    needsSandbox: true,
    session: (real) =>
      rewriteEmits(real, (e) => {
        const ev = e as ToolResultEvent;
        return ev.payload.case === "toolResult" ? { ...ev, payload: { ...ev.payload, value: { ...ev.payload.value, isError: false } } } : undefined;
      }),
  },
  {
    name: "the MCP server's bearer lands in the log",
    breaks: ["SEC-14"],
    profile: ["harness/SEC-14/mcp-tools-through-the-proxy"],
    needsHarness: true,
    needsSandbox: true,
    vault: (real) =>
      patch(real, "createCredential", (orig) => (req: never, call: never) => {
        const c = (req as CredentialReq).credential;
        if (c?.kind.case === "bearer" && c.kind.value?.token) bearers.push(c.kind.value.token);
        return orig(req, call);
      }),
    session: (real) =>
      rewriteEmits(real, (e) => {
        const ev = e as ToolResultEvent;
        // Outputs stay right: only the log check can find it.
        return ev.payload.case === "statusChanged" ? { ...ev, payload: { ...ev.payload, value: { ...ev.payload.value, detail: `seen ${bearers.at(-1) ?? ""}` } } } : undefined;
      }),
  },
  {
    name: "CreateSession does not check the credentials of MCP servers",
    breaks: ["SEC-14"],
    profile: ["harness/SEC-14/create-session-checks"],
    needsHarness: true,
    needsSandbox: true,
    session: (real) =>
      patch(real, "createSession", (orig) => (req: never, call: never) => {
        const r = req as { agent?: { mcpServers?: unknown[] } };
        return orig({ ...r, agent: { ...r.agent, mcpServers: [] } } as never, call);
      }),
  },
];
