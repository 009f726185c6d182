import type * as http from "node:http";
import type { Logger } from "../logger.js";
import type { Vault } from "../vault/vault.js";
import type { GatewayAudit } from "./gateway-audit.js";
import { OutboundRefused, type OutboundPolicy } from "./outbound-policy.js";
import { answer, relay } from "./upstream-request.js";
import { authorizationOf, credentialMismatch, type WiredRepository } from "./wired-repository.js";

export interface GitRouteContext {
  readonly tenant: string;
  readonly sandboxId: string;
  readonly repositories: readonly WiredRepository[];
  readonly vault: Vault;
  readonly policy: OutboundPolicy;
  readonly audit: GatewayAudit;
  readonly log: Logger;
}

/** The requests of git's smart HTTP protocol, and nothing else: refs, fetch, push. */
function smartHttpSuffix(method: string | undefined, suffix: string): string | undefined {
  const [path, query] = suffix.split("?", 2);
  if (method === "GET" && path === "/info/refs" && (query === "service=git-upload-pack" || query === "service=git-receive-pack")) return query.slice("service=".length);
  if (method === "POST" && (path === "/git-upload-pack" || path === "/git-receive-pack") && query === undefined) return path.slice(1);
  return undefined;
}

/**
 * One git request of a sandbox: the route must be a repository wired into this sandbox
 * and the request one of git's smart HTTP protocol; the credential is read from the vault
 * now (so a rotation applies to the next request), checked against the upstream's host,
 * and added as the Authorization header of the forwarded request. The sandbox's own
 * headers never carry authorization upstream.
 */
export async function routeGit(req: http.IncomingMessage, res: http.ServerResponse, path: string, ctx: GitRouteContext): Promise<void> {
  const repo = ctx.repositories.find((r) => path === r.route || path.startsWith(`${r.route}/`) || path.startsWith(`${r.route}?`));
  const denied = (reason: "not_wired" | "credential_missing" | "credential_mismatch", status: number, text: string) => {
    ctx.audit.denied({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: path.split("?")[0]!, reason }, text);
    answer(res, status, text);
  };
  if (!repo) return denied("not_wired", 404, "no repository is wired into this sandbox at this path");
  const suffix = path.slice(repo.route.length);
  const service = smartHttpSuffix(req.method, suffix);
  if (!service) return answer(res, 404, "only git's smart HTTP requests (info/refs, git-upload-pack, git-receive-pack) pass");
  const upstream = new URL(`${repo.url}${suffix}`);
  const extra: Record<string, string> = {};
  if (repo.credentialId) {
    const credential = await ctx.vault.reveal(ctx.tenant, repo.credentialId);
    if (!credential) return denied("credential_missing", 403, `the credential ${repo.credentialId} is not in the vault any more`);
    const mismatch = credentialMismatch(credential.target, upstream);
    if (mismatch) return denied("credential_mismatch", 403, `the credential ${repo.credentialId} may not be sent to this repository: ${mismatch}`);
    extra["authorization"] = authorizationOf(credential.target, credential.secret);
  }
  ctx.log.debug({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, repository: repo.url, service }, "git request through the gateway");
  relay(req, res, upstream, {
    policy: ctx.policy,
    extra,
    onRefused: (status) => {
      ctx.log.warn({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, repository: repo.url, status }, "the repository refused the gateway's credential");
      answer(res, 403, `${repo.url} refused ${repo.credentialId ? `the credential ${repo.credentialId}` : "an anonymous request"} (${status})`);
    },
    onFailed: (err) => {
      if (err instanceof OutboundRefused) {
        ctx.audit.denied({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: repo.url, reason: "refused_address" }, err.message);
        return answer(res, 403, `${repo.url} may not be reached from this server: ${err.message}`);
      }
      ctx.log.warn({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, repository: repo.url, err: err.message }, "the repository could not be reached");
      answer(res, 502, `${repo.url} could not be reached: ${err.message}`);
    },
  });
}
