import type { JsonObject } from "@bufbuild/protobuf";
import type { ToolDescription } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { ContextStrategy, ToolKind, type AgentConfig } from "@oma/client/gen/oma/v1/session_pb.js";
import { SESSION_HISTORY_TOOL } from "../harness-tools.js";
import { historyToolDefinition } from "./history-tool.js";
import type { PromptTool } from "./prompt.js";

/** How the brain routes a tool the model may call. */
export interface CatalogEntry {
  readonly kind: ToolKind.SANDBOX | ToolKind.CUSTOM | ToolKind.HARNESS | ToolKind.MCP;
  readonly requiresConfirmation: boolean;
}

export interface ToolCatalog {
  /** The tools offered to the model, in a stable order (prompt caching depends on it). */
  readonly prompt: PromptTool[];
  readonly byName: ReadonlyMap<string, CatalogEntry>;
}

/**
 * The tools of a session: every sandbox tool when the agent names none, else the named
 * ones — sandbox tools take the sandbox's description and schema unless the agent gives
 * its own; custom tools bring theirs (HARN-11). A sandbox tool the sandbox service does
 * not have is left out rather than offered and failing on every call. The built-in
 * session_history tool (HARN-23) comes last when the agent names it, and whenever its
 * context strategy leaves events out of the prompt (CLEAR, COMPACT).
 */
export function buildToolCatalog(agent: AgentConfig, sandboxTools: readonly ToolDescription[]): ToolCatalog {
  const catalog = agentTools(agent, sandboxTools);
  const strategy = agent.context?.strategy ?? ContextStrategy.UNSPECIFIED;
  const forgets = strategy === ContextStrategy.CLEAR || strategy === ContextStrategy.COMPACT;
  const named = agent.tools.find((t) => t.kind === ToolKind.HARNESS && t.name === SESSION_HISTORY_TOOL);
  if (named || forgets) {
    catalog.prompt.push({ ...historyToolDefinition });
    catalog.byName.set(SESSION_HISTORY_TOOL, { kind: ToolKind.HARNESS, requiresConfirmation: named?.requiresConfirmation ?? false });
  }
  return catalog;
}

function agentTools(agent: AgentConfig, sandboxTools: readonly ToolDescription[]): { prompt: PromptTool[]; byName: Map<string, CatalogEntry> } {
  const sandbox = new Map(sandboxTools.map((t) => [t.name, t]));
  const prompt: PromptTool[] = [];
  const byName = new Map<string, CatalogEntry>();
  if (agent.tools.length === 0) {
    for (const t of sandboxTools) {
      prompt.push({ name: t.name, description: t.description, input_schema: schemaOf(t.inputSchema) });
      byName.set(t.name, { kind: ToolKind.SANDBOX, requiresConfirmation: false });
    }
    return { prompt, byName };
  }
  for (const tool of agent.tools) {
    if (tool.kind === ToolKind.HARNESS) continue;
    if (tool.kind === ToolKind.CUSTOM) {
      prompt.push({ name: tool.name, description: tool.description, input_schema: schemaOf(tool.inputSchema) });
      byName.set(tool.name, { kind: ToolKind.CUSTOM, requiresConfirmation: tool.requiresConfirmation });
      continue;
    }
    const known = sandbox.get(tool.name);
    if (!known) continue;
    prompt.push({
      name: tool.name,
      description: tool.description || known.description,
      input_schema: tool.inputSchema ? schemaOf(tool.inputSchema) : schemaOf(known.inputSchema),
    });
    byName.set(tool.name, { kind: ToolKind.SANDBOX, requiresConfirmation: tool.requiresConfirmation });
  }
  return { prompt, byName };
}

function schemaOf(schema: JsonObject | undefined): PromptTool["input_schema"] {
  return (schema && Object.keys(schema).length > 0 ? schema : { type: "object", properties: {} }) as PromptTool["input_schema"];
}
