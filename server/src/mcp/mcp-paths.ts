// Where the MCP proxy answers, apart from the proxy itself: the server routes the prefix
// without loading the MCP SDK until a request comes.

/** Where a brain reaches its session's MCP servers on the server's port. */
export const MCP_PATH_PREFIX = "/mcp/sessions/";
/** The proxy endpoint of one session's MCP server. */
export const mcpProxyPath = (sessionId: string, server: string) => `${MCP_PATH_PREFIX}${encodeURIComponent(sessionId)}/servers/${encodeURIComponent(server)}`;
