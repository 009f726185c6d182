/**
 * The MCP SDK's client and its Streamable HTTP transport, loaded at the first connection
 * that needs them (the server's upstream clients, a brain's MCP tools) rather than by
 * every server's or worker's start.
 */
export async function loadMcpClientSdk() {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([import("@modelcontextprotocol/sdk/client/index.js"), import("@modelcontextprotocol/sdk/client/streamableHttp.js")]);
  return { Client, StreamableHTTPClientTransport };
}
