/**
 * Tools the brain runs itself rather than in a sandbox (ToolKind HARNESS). Their names are
 * reserved: an AgentTool may use one only with kind HARNESS.
 */
export const SESSION_HISTORY_TOOL = "session_history";

/** Every built-in tool of the harness. */
export const HARNESS_TOOL_NAMES: readonly string[] = [SESSION_HISTORY_TOOL];
