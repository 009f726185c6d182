import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ToolUse } from "@oma/client/gen/oma/v1/event_pb.js";
import { ToolKind, type McpServer } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Logger } from "../../logger.js";
import { loadMcpClientSdk } from "../../mcp/mcp-client-sdk.js";
import { mcpProxyPath } from "../../mcp/mcp-paths.js";
import { VERSION } from "../../version.js";
import type { ToolOutcome } from "./hands.js";
import type { PromptTool } from "./prompt.js";
import type { CatalogEntry, ToolCatalog } from "./tool-catalog.js";

/** Where a brain reaches the server's MCP proxy, and the credential it shows there. */
export interface McpProxyAccess {
  /** The server's base URL (the one the worker connects to). */
  readonly baseUrl: string;
  /** The brain's session token, as fresh as its last RenewLease. */
  readonly token: () => string;
}

/** How long one MCP tool call may take, as the brain waits for it. */
const CALL_TIMEOUT_MS = 120_000;
/** Tool names the model accepts. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** How many tools one MCP server may offer a session. */
const MAX_TOOLS_PER_SERVER = 128;

/** The model's name for an MCP tool: `<server>__<tool>`. */
export const mcpToolName = (server: string, tool: string) => `${server}__${tool}`;

interface Connection {
  readonly server: McpServer;
  client: Client | undefined;
}

/**
 * The session's MCP tools (SEC-14). The brain speaks standard MCP (the official SDK's
 * client, streamable HTTP) to the server's proxy endpoint of each MCP server, with its
 * session token: it never holds the server's credential. Tools are listed once per brain
 * and offered as `<server>__<tool>`; a server that does not answer offers nothing, and a
 * call to it (a successor's pending one) is an error result, never a failed session.
 */
export class McpTools {
  readonly #connections = new Map<string, Connection>();
  readonly #tools = new Map<string, { server: string; tool: string; definition: PromptTool }>();
  readonly #access: McpProxyAccess;
  readonly #sessionId: string;
  readonly #log: Logger;

  private constructor(access: McpProxyAccess, sessionId: string, log: Logger) {
    this.#access = access;
    this.#sessionId = sessionId;
    this.#log = log;
  }

  /** Connects to every MCP server of the agent through the proxy and lists their tools. */
  static async open(servers: readonly McpServer[], sessionId: string, access: McpProxyAccess, log: Logger): Promise<McpTools> {
    const tools = new McpTools(access, sessionId, log);
    await Promise.all(servers.map((s) => tools.#discover(s)));
    return tools;
  }

  /** The catalog with the MCP tools added after the others (a stable order keeps the prompt cache warm). */
  extend(catalog: ToolCatalog): ToolCatalog {
    const prompt = [...catalog.prompt];
    const byName = new Map<string, CatalogEntry>(catalog.byName);
    for (const [name, t] of this.#tools) {
      if (byName.has(name)) continue;
      prompt.push(t.definition);
      byName.set(name, { kind: ToolKind.MCP, requiresConfirmation: false });
    }
    return { prompt, byName };
  }

  /** Whether a call is the MCP servers' to run: recorded as MCP, or named `<server>__…` after one of them (a server that offered nothing). */
  routes(toolUse: ToolUse): boolean {
    if (toolUse.kind === ToolKind.MCP) return true;
    const [server] = splitName(toolUse.name);
    return server !== undefined && this.#connections.has(server);
  }

  /** Runs one MCP tool call; every failure is an error result for the model. */
  async call(toolUse: ToolUse, signal: AbortSignal): Promise<ToolOutcome> {
    const outcome = (output: string, isError: boolean): ToolOutcome => ({ output, isError, truncated: false, replayed: false, sandboxId: "" });
    const known = this.#tools.get(toolUse.name);
    const [serverName, toolName] = known ? [known.server, known.tool] : splitName(toolUse.name);
    const connection = serverName === undefined ? undefined : this.#connections.get(serverName);
    if (!connection || toolName === undefined) return outcome(`No MCP tool ${toolUse.name} is offered in this session.`, true);
    try {
      const client = connection.client ?? (await this.#connect(connection.server));
      const result = (await client.callTool({ name: toolName, arguments: (toolUse.input ?? {}) as Record<string, unknown> }, undefined, { signal, timeout: CALL_TIMEOUT_MS })) as CallToolResult;
      return outcome(textOf(result), result.isError === true);
    } catch (err) {
      if (signal.aborted) throw err;
      connection.client = undefined;
      this.#log.warn({ server: connection.server.name, tool: toolName, err: (err as Error).message }, "MCP call failed");
      return outcome(`The MCP server ${connection.server.name} could not run ${toolName}: ${(err as Error).message}`, true);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections.values()].map((c) => c.client?.close().catch(() => undefined)));
  }

  async #discover(server: McpServer): Promise<void> {
    const connection: Connection = { server, client: undefined };
    this.#connections.set(server.name, connection);
    try {
      const client = await this.#connect(server);
      connection.client = client;
      const listed: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        listed.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && listed.length < MAX_TOOLS_PER_SERVER);
      for (const tool of listed.slice(0, MAX_TOOLS_PER_SERVER)) {
        const name = mcpToolName(server.name, tool.name);
        if (!TOOL_NAME.test(name)) {
          this.#log.warn({ server: server.name, tool: tool.name }, "MCP tool left out: its name does not fit the model's tool names");
          continue;
        }
        this.#tools.set(name, { server: server.name, tool: tool.name, definition: { name, description: tool.description ?? "", input_schema: tool.inputSchema as PromptTool["input_schema"] } });
      }
    } catch (err) {
      connection.client = undefined;
      this.#log.warn({ server: server.name, err: (err as Error).message }, "MCP server unavailable: its tools are not offered this turn");
    }
  }

  async #connect(server: McpServer): Promise<Client> {
    const { Client, StreamableHTTPClientTransport } = await loadMcpClientSdk();
    const url = new URL(mcpProxyPath(this.#sessionId, server.name), this.#access.baseUrl);
    const token = this.#access.token;
    const transport = new StreamableHTTPClientTransport(url, {
      // The token is read at every request: RenewLease replaces it.
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("authorization", `Bearer ${token()}`);
        return fetch(input, { ...init, headers });
      },
    });
    const client = new Client({ name: "oma-brain", version: VERSION });
    await client.connect(transport);
    return client;
  }
}

/** `<server>__<tool>` → its parts (for a pending call whose server offered nothing this time). */
function splitName(name: string): [string | undefined, string | undefined] {
  const at = name.indexOf("__");
  return at > 0 ? [name.slice(0, at), name.slice(at + 2)] : [undefined, undefined];
}

/** An MCP result as the text the model reads: text blocks as they are, other blocks named. */
function textOf(result: CallToolResult): string {
  const parts = (result.content ?? []).map((block) => {
    if (block.type === "text") return block.text;
    if (block.type === "resource_link") return `[resource ${block.uri}]`;
    if (block.type === "resource") return "text" in block.resource ? String(block.resource.text) : `[resource ${block.resource.uri}]`;
    return `[${block.type} content]`;
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join("\n");
}
