import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode, JSONRPCMessageSchema, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, McpError } from "@modelcontextprotocol/sdk/types.js";
import { VERSION } from "../version.js";

/** What the endpoint does with the two tool methods; everything else of the protocol is its own. */
export interface ToolMethods {
  listTools(params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown>;
  callTool(params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown>;
}

/** Largest request body the endpoint reads. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

type Message = { jsonrpc: "2.0"; id?: string | number; method?: string; params?: Record<string, unknown> };

/**
 * A stateless MCP server endpoint of the streamable HTTP transport, answering in JSON
 * (the transport's `application/json` response form): `initialize`, `ping`, `tools/list`
 * and `tools/call`, notifications acknowledged with 202. Messages are validated with the
 * SDK's own schemas. It exists because the SDK's server (a Server and a transport built
 * per request, as stateless mode requires) costs about as much as the whole call it would
 * forward; measured in `npm run bench credentials`.
 */
export async function answerMcp(req: IncomingMessage, res: ServerResponse, name: string, tools: ToolMethods): Promise<void> {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST", "content-type": "application/json" });
    res.end(JSON.stringify(errorOf(null, ErrorCode.InvalidRequest, "this endpoint is stateless: POST only, no event stream")));
    return;
  }
  const accept = String(req.headers.accept ?? "");
  if (!accept.includes("application/json") && !accept.includes("*/*")) {
    res.writeHead(406, { "content-type": "application/json" });
    res.end(JSON.stringify(errorOf(null, ErrorCode.InvalidRequest, "the client must accept application/json")));
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify(errorOf(null, ErrorCode.ParseError, "the body is not JSON")));
    return;
  }
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every((m) => JSONRPCMessageSchema.safeParse(m).success)) {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify(errorOf(null, ErrorCode.InvalidRequest, "not a JSON-RPC message")));
    return;
  }
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  const requests = (messages as Message[]).filter((m) => m.id !== undefined && m.method !== undefined);
  if (requests.length === 0) {
    res.writeHead(202).end();
    return;
  }
  const answers = await Promise.all(requests.map((m) => answerOne(m, name, tools, abort.signal)));
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
}

async function answerOne(m: Message, name: string, tools: ToolMethods, signal: AbortSignal): Promise<object> {
  try {
    switch (m.method) {
      case "initialize": {
        const asked = String(m.params?.["protocolVersion"] ?? "");
        const protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
        return { jsonrpc: "2.0", id: m.id!, result: { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: `oma-mcp-proxy:${name}`, version: VERSION } } };
      }
      case "ping":
        return { jsonrpc: "2.0", id: m.id!, result: {} };
      case "tools/list":
        return { jsonrpc: "2.0", id: m.id!, result: await tools.listTools(m.params, signal) };
      case "tools/call":
        return { jsonrpc: "2.0", id: m.id!, result: await tools.callTool(m.params, signal) };
      default:
        return errorOf(m.id!, ErrorCode.MethodNotFound, `method ${m.method} is not served by the MCP proxy`);
    }
  } catch (err) {
    return errorOf(m.id!, err instanceof McpError ? err.code : ErrorCode.InternalError, err instanceof Error ? err.message : String(err));
  }
}

function errorOf(id: string | number | null, code: number, message: string): object {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
