import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { TokenRole, type Token } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { CaseSkipped } from "../../runner/assertions.js";
import type { RpcClient } from "../../client/rpc-client.js";
import { RpcFailure } from "../../client/rpc-failure.js";

export const V = VaultService.method;

/** A secret no target has seen: what a case plants and then looks for where it must not be. */
export const plantedSecret = (tag = "cred") => `oma-conf-${tag}-${randomBytes(18).toString("hex")}`;

export const gitToken = (token: string, host = "git.conformance.example") => ({ case: "gitToken" as const, value: { host, username: "conformance", token } });
export const bearer = (token: string, urlPrefix = "https://mcp.conformance.example/") => ({ case: "bearer" as const, value: { urlPrefix, token } });

/**
 * A client of a fresh tenant (or of a given one) with the given role, minted with the
 * run's token through TokenService; skips the case when that token may not mint tokens.
 */
export async function tenantClient(ctx: CaseContext, role: TokenRole = TokenRole.CLIENT, tenant = ctx.uniqueId("tenant").replace(/[^A-Za-z0-9._-]/g, "")): Promise<{ client: RpcClient; tenant: string; token: string; tokenId: string; created: Token | undefined }> {
  try {
    const res = await ctx.rpc.unary(TokenService.method.createToken, { tenant, role, description: "oma-conformance" });
    return { client: ctx.newClient(undefined, res.bearerToken), tenant, token: res.bearerToken, tokenId: res.token?.tokenId ?? "", created: res.token };
  } catch (err) {
    if (err instanceof RpcFailure && (err.codeName === "PERMISSION_DENIED" || err.codeName === "UNIMPLEMENTED")) {
      throw new CaseSkipped("this case mints tokens of other tenants or roles: run the suite with an admin token (--token or --target-data-dir)");
    }
    throw err;
  }
}

/**
 * Files under `dir` (at most `maxFiles`, each read up to 64 MiB) whose bytes contain
 * `needle`: a secret kept in plain text anywhere in a data directory shows here.
 */
export async function filesContaining(dir: string, needle: string, maxFiles = 5000): Promise<string[]> {
  const found: string[] = [];
  const names = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).slice(0, maxFiles);
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || info.size > 64 * 1024 * 1024) continue;
    const content = await readFile(path).catch(() => undefined);
    if (content?.includes(needle)) found.push(name);
  }
  return found;
}
