import type { AgentConfig, McpServer } from "@oma/client/gen/oma/v1/session_pb.js";
import { invalidField } from "../errors/oma-error.js";
import { urlUnderPrefix } from "../vault/credential.js";
import { credentialNotFound, type Vault } from "../vault/vault.js";

/** Why a credential may not go to an MCP server, or undefined when it may: only a bearer whose prefix covers the URL. */
function mismatch(target: { kind: string; urlPrefix?: string }, url: string): string | undefined {
  if (target.kind !== "bearer") return "an MCP server takes a bearer credential";
  return urlUnderPrefix(new URL(url).href, target.urlPrefix ?? "") ? undefined : `its url_prefix ${target.urlPrefix} does not cover ${url}`;
}

/**
 * CreateSession's check of `agent.mcp_servers` (SEC-14): every credential named exists in
 * the tenant (CREDENTIAL_NOT_FOUND) and may be sent to its server's URL (INVALID_FIELD).
 */
export function mcpCredentialCheck(vault: Vault) {
  return async (tenant: string, agent: AgentConfig): Promise<void> => {
    for (const [i, server] of agent.mcpServers.entries()) {
      if (!server.credentialId) continue;
      const field = `agent.mcp_servers[${i}].credential_id`;
      const credential = await vault.exists(tenant, server.credentialId);
      if (!credential) throw credentialNotFound(server.credentialId, field);
      const why = mismatch(credential.target, server.url);
      if (why) throw invalidField(field, "credential_target", `credential ${server.credentialId} may not be sent to ${server.name}: ${why}`, { credential_id: server.credentialId });
    }
  };
}

/**
 * The bearer to send to an MCP server now (read at every request: rotation applies to the
 * next call), or why there is none.
 */
export async function bearerFor(vault: Vault, tenant: string, server: McpServer): Promise<{ secret: string } | { refused: string } | { none: true }> {
  if (!server.credentialId) return { none: true };
  const credential = await vault.reveal(tenant, server.credentialId);
  if (!credential) return { refused: `the credential ${server.credentialId} is not in the vault any more` };
  const why = mismatch(credential.target, server.url);
  if (why) return { refused: `the credential ${server.credentialId} may not be sent to ${server.name}: ${why}` };
  return { secret: credential.secret };
}
