import type { IncomingMessage, ServerResponse } from "node:http";
import { CallToolRequestParamsSchema, ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Authenticator } from "../auth/authenticate.js";
import { accessOf } from "../auth/principal.js";
import { OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import { authorize } from "../rpc/access-policy.js";
import type { SessionStore } from "../store/session-store.js";
import type { Vault } from "../vault/vault.js";
import { answerMcp } from "./mcp-endpoint.js";
import { bearerFor } from "./mcp-credentials.js";
import type { UpstreamClients } from "./upstream-clients.js";

/** How long one tool call upstream may take. */
export const MCP_CALL_TIMEOUT_MS = 120_000;

const PATH = /^\/mcp\/sessions\/([^/?]+)\/servers\/([^/?]+)\/?(?:\?.*)?$/;
const httpStatus: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, PERMISSION_DENIED: 403, SESSION_NOT_FOUND: 404, INVALID_FIELD: 400 };

export interface McpProxyDeps {
  readonly auth: Authenticator;
  readonly store: SessionStore;
  readonly vault: Vault;
  readonly upstream: UpstreamClients;
  readonly logger: Logger;
}

/**
 * The MCP proxy (SEC-14): a standard MCP endpoint (streamable HTTP, stateless) per session
 * and MCP server at /mcp/sessions/<session>/servers/<name>, authenticated like every RPC
 * (a brain's session token for that session, or a client or admin token of its tenant).
 * It lists and calls the tools of the real server named in the session's agent, adding
 * the credential from the vault (read at every request); the brain never sees it. A
 * failing or unreachable server is a tool result with `isError`, never a dead session.
 */
export function createMcpProxy(deps: McpProxyDeps) {
  const log = deps.logger;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const m = PATH.exec(req.url ?? "");
      if (!m) throw new OmaError("INVALID_FIELD", "the MCP proxy path is /mcp/sessions/<session>/servers/<name>", { field: "path" });
      const sessionId = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      const principal = await deps.auth.authenticate({ get: (h) => (req.headers[h.toLowerCase()] as string | undefined) ?? null });
      authorize({ kind: "session", sessionIdOf: (r) => (r as { sessionId: string }).sessionId }, principal, { sessionId }, `MCP ${name}`);
      const tenant = accessOf(principal).tenant;
      const session = await deps.store.getSession({ tenant, sessionId }).catch((err: unknown) => {
        if (err instanceof OmaError && err.reason === "SESSION_NOT_FOUND") return undefined;
        throw err;
      });
      if (!session) throw new OmaError("SESSION_NOT_FOUND", `no session ${sessionId}`, { session_id: sessionId });
      const server = session.agent?.mcpServers.find((s) => s.name === name);
      if (!server) throw new OmaError("INVALID_FIELD", `the session's agent has no MCP server ${name}`, { field: "path", server: name });
      await serve(req, res, { ...deps, tenant, sessionId, server, log });
    } catch (err) {
      const e = err instanceof OmaError ? err : undefined;
      if (!e) log.error({ err }, "MCP proxy failed");
      if (!res.headersSent) {
        res.writeHead(httpStatus[e?.reason ?? ""] ?? (e ? 400 : 500), { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: ErrorCode.InvalidRequest, message: e ? e.message : "internal error", data: e ? { reason: e.reason } : undefined } }));
      }
    }
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, ctx: McpProxyDeps & { tenant: string; sessionId: string; server: McpServer; log: Logger }): Promise<void> {
  const { server: mcp, tenant, sessionId } = ctx;
  const scope = `${tenant}/${sessionId}/${mcp.name}`;
  const credential = await bearerFor(ctx.vault, tenant, mcp);
  /** Removes the secret from any text that goes back to the brain. */
  const scrub = (text: string) => ("secret" in credential && credential.secret ? text.split(credential.secret).join("[credential]") : text);
  const upstream = async () => {
    if ("refused" in credential) throw new McpError(ErrorCode.InvalidRequest, credential.refused);
    return ctx.upstream.get(scope, mcp.url, "secret" in credential ? credential.secret : undefined);
  };
  const fail = (err: unknown, what: string) => {
    if ("secret" in credential) ctx.upstream.discard(scope, mcp.url, credential.secret);
    else ctx.upstream.discard(scope, mcp.url, undefined);
    const message = scrub(err instanceof Error ? err.message : String(err));
    ctx.log.warn({ tenant, sessionId, server: mcp.name, err: message }, `MCP ${what} failed`);
    return message;
  };
  await answerMcp(req, res, mcp.name, {
    async listTools(params, signal) {
      try {
        return await (await upstream()).listTools(params, { signal });
      } catch (err) {
        throw new McpError(ErrorCode.InternalError, `MCP server ${mcp.name} did not list its tools: ${fail(err, "tools/list")}`);
      }
    },
    async callTool(params, signal): Promise<CallToolResult> {
      const parsed = CallToolRequestParamsSchema.safeParse(params);
      if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, "tools/call needs a tool name and an arguments object");
      try {
        const result = (await (await upstream()).callTool(parsed.data, undefined, { signal, timeout: MCP_CALL_TIMEOUT_MS })) as CallToolResult;
        return JSON.parse(scrub(JSON.stringify(result))) as CallToolResult;
      } catch (err) {
        // An MCP server that is down, refuses the credential or breaks the protocol is this
        // call's error for the model, not a failed session.
        return { content: [{ type: "text", text: `MCP server ${mcp.name} could not run ${parsed.data.name}: ${fail(err, "tools/call")}` }], isError: true };
      }
    },
  });
}
