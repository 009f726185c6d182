import { toBinary } from "@bufbuild/protobuf";
import { AgentConfigSchema, type AgentConfig, type ContextManagement } from "@oma/client/gen/oma/v1/session_pb.js";
import type { SandboxResources } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { ContextStrategy, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { invalidField } from "../errors/oma-error.js";
import { HARNESS_TOOL_NAMES } from "../harness/harness-tools.js";
import { contextLimits } from "../limits.js";
import { knownEnum, maxBytes, requireId, structDepth } from "../rpc/field-rules.js";

/** Bounds of an agent configuration (session.proto AgentConfig). */
export const MAX_MODEL_BYTES = 256;
export const MAX_SYSTEM_PROMPT_BYTES = 256 * 1024;
export const MAX_AGENT_TOOLS = 128;
export const MAX_TOKENS_LIMIT = 128_000;
export const MAX_TOOL_DESCRIPTION_BYTES = 16 * 1024;
/**
 * The whole configuration, encoded: its parts' own bounds add up to more, and a session's
 * creation is one write, which a store on a replicated log keeps within one message.
 */
export const MAX_AGENT_BYTES = 1024 * 1024;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Bounds of AgentConfig.mcp_servers (session.proto McpServer). */
export const MAX_MCP_SERVERS = 16;
const MCP_SERVER_NAME = /^[a-zA-Z0-9_-]{1,32}$/;
const MAX_MCP_URL_BYTES = 2048;

/** What an agent's configuration is checked against beyond its own bounds. */
export interface AgentRules {
  /** The tools of ListTools: a SANDBOX tool must be one of them. */
  readonly sandboxTools: readonly string[];
  /** Checks the sandbox recipe as Provision would (INVALID_FIELD or BACKEND_UNAVAILABLE under `field`). */
  readonly checkSandbox: (resources: SandboxResources, field: string) => void;
  readonly maxStructDepth: number;
}

/** SESS-9: a session needs an agent with a model; every other AgentConfig bound is checked too. */
export function validateAgent(agent: AgentConfig | undefined, rules: AgentRules): AgentConfig {
  if (!agent) throw invalidField("agent", "required", "is required");
  if (agent.model === "") throw invalidField("agent.model", "required", "is required");
  const agentBytes = toBinary(AgentConfigSchema, agent).byteLength;
  if (agentBytes > MAX_AGENT_BYTES) throw invalidField("agent", "max_bytes", `at most ${MAX_AGENT_BYTES} bytes encoded, all of it`, { limit: MAX_AGENT_BYTES, size_bytes: agentBytes });
  if (Buffer.byteLength(agent.model) > MAX_MODEL_BYTES) throw invalidField("agent.model", "max_bytes", `at most ${MAX_MODEL_BYTES} bytes`, { limit: MAX_MODEL_BYTES });
  if (Buffer.byteLength(agent.systemPrompt) > MAX_SYSTEM_PROMPT_BYTES) {
    throw invalidField("agent.system_prompt", "max_bytes", `at most ${MAX_SYSTEM_PROMPT_BYTES} bytes`, { limit: MAX_SYSTEM_PROMPT_BYTES });
  }
  if (agent.maxTokens < 0 || agent.maxTokens > MAX_TOKENS_LIMIT) {
    throw invalidField("agent.max_tokens", "range", `must be 0 to ${MAX_TOKENS_LIMIT}`, { value: agent.maxTokens });
  }
  if (agent.maxTurnSteps < 0) throw invalidField("agent.max_turn_steps", "non_negative", "must not be negative", { value: agent.maxTurnSteps });
  if (agent.tools.length > MAX_AGENT_TOOLS) throw invalidField("agent.tools", "max_items", `at most ${MAX_AGENT_TOOLS} tools`, { count: agent.tools.length });
  const names = new Set<string>();
  agent.tools.forEach((tool, i) => {
    const field = `agent.tools[${i}]`;
    if (!TOOL_NAME.test(tool.name)) throw invalidField(`${field}.name`, "tool_name", "must match [a-zA-Z0-9_-]{1,64}");
    if (names.has(tool.name)) throw invalidField(`${field}.name`, "unique", "tool names must be unique", { name: tool.name });
    names.add(tool.name);
    knownEnum(tool.kind, ToolKind, `${field}.kind`);
    const builtIn = HARNESS_TOOL_NAMES.includes(tool.name);
    if (tool.kind === ToolKind.HARNESS && !builtIn) {
      throw invalidField(`${field}.name`, "harness_tool", `HARNESS tools are built in: ${HARNESS_TOOL_NAMES.join(", ")}`, { name: tool.name });
    }
    if (builtIn && tool.kind !== ToolKind.HARNESS) throw invalidField(`${field}.kind`, "reserved_name", `${tool.name} is a built-in HARNESS tool`, { name: tool.name });
    if (tool.kind === ToolKind.MCP) throw invalidField(`${field}.kind`, "mcp_tool", "MCP tools come from agent.mcp_servers, not from agent.tools");
    if ((tool.kind === ToolKind.SANDBOX || tool.kind === ToolKind.UNSPECIFIED) && !rules.sandboxTools.includes(tool.name)) {
      throw invalidField(`${field}.name`, "sandbox_tool", `is not a tool of ListTools (${rules.sandboxTools.join(", ")})`, { name: tool.name });
    }
    maxBytes(tool.description, MAX_TOOL_DESCRIPTION_BYTES, `${field}.description`);
    if (tool.inputSchema) structDepth(tool.inputSchema, rules.maxStructDepth, `${field}.input_schema`);
    if (tool.kind === ToolKind.CUSTOM) {
      if (tool.description === "") throw invalidField(`${field}.description`, "required", "custom tools need a description");
      if (!tool.inputSchema) throw invalidField(`${field}.input_schema`, "required", "custom tools need an input schema");
    }
  });
  if (agent.context) validateContext(agent.context);
  validateMcpServers(agent);
  if (agent.sandbox) rules.checkSandbox(agent.sandbox, "agent.sandbox");
  return agent;
}

/** HARN-21: the context strategy is known and its token bounds are in range. */
function validateContext(context: ContextManagement): void {
  knownEnum(context.strategy, ContextStrategy, "agent.context.strategy");
  const { minMaxInputTokens, maxMaxInputTokens, minTargetInputTokens, defaultMaxInputTokens } = contextLimits;
  const max = context.maxInputTokens;
  if (max !== 0 && (max < minMaxInputTokens || max > maxMaxInputTokens)) {
    throw invalidField("agent.context.max_input_tokens", "range", `must be 0 (default ${defaultMaxInputTokens}) or ${minMaxInputTokens} to ${maxMaxInputTokens}`, { value: max });
  }
  const target = context.targetInputTokens;
  const effectiveMax = max || defaultMaxInputTokens;
  if (target !== 0 && (target < minTargetInputTokens || target >= effectiveMax)) {
    throw invalidField("agent.context.target_input_tokens", "range", `must be 0 (half of max_input_tokens) or ${minTargetInputTokens} to below max_input_tokens (${effectiveMax})`, {
      value: target,
      max_input_tokens: effectiveMax,
    });
  }
}

function validateMcpServers(agent: AgentConfig): void {
  if (agent.mcpServers.length > MAX_MCP_SERVERS) throw invalidField("agent.mcp_servers", "max_items", `at most ${MAX_MCP_SERVERS} MCP servers`, { count: agent.mcpServers.length });
  const names = new Set<string>();
  agent.mcpServers.forEach((server, i) => {
    const field = `agent.mcp_servers[${i}]`;
    if (!MCP_SERVER_NAME.test(server.name)) throw invalidField(`${field}.name`, "mcp_server_name", "must match [a-zA-Z0-9_-]{1,32}");
    if (names.has(server.name)) throw invalidField(`${field}.name`, "unique", "MCP server names must be unique", { name: server.name });
    names.add(server.name);
    let url: URL | undefined;
    try {
      url = new URL(server.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.hash || Buffer.byteLength(server.url) > MAX_MCP_URL_BYTES) {
      throw invalidField(`${field}.url`, server.url === "" ? "required" : "url_grammar", `must be an http or https URL of at most ${MAX_MCP_URL_BYTES} bytes, without user info or fragment (credentials go in the vault)`);
    }
    if (server.credentialId !== "") requireId(server.credentialId, `${field}.credential_id`);
  });
}
