import { hostOf, urlUnderPrefix, type CredentialTarget } from "../vault/credential.js";

/** A repository wired into a sandbox: its upstream URL, the credential that opens it, and its route on the gateway. */
export interface WiredRepository {
  /** The upstream URL, normalised, without a trailing slash. */
  readonly url: string;
  /** "" for a repository that needs no credential. */
  readonly credentialId: string;
  /** Where the sandbox reaches it on its gateway: `/git/<host>/<path>`. */
  readonly route: string;
}

/** The gateway route of an upstream URL: `/git/<host[:port]>/<path>`, so a remote says which repository it is. */
export function gatewayRouteOf(url: URL): string {
  return `/git/${hostOf(url)}${url.pathname.replace(/\/+$/, "")}`;
}

/** Why a credential may not be sent to this URL, or undefined when it may. */
export function credentialMismatch(target: CredentialTarget, url: URL): string | undefined {
  if (target.kind === "git_token") return hostOf(url) === target.host ? undefined : `it is a git token for ${target.host}, not ${hostOf(url)}`;
  return urlUnderPrefix(url.href, target.urlPrefix) ? undefined : `it is a bearer token for URLs under ${target.urlPrefix}`;
}

/** The Authorization header a credential adds to an upstream request. */
export function authorizationOf(target: CredentialTarget, secret: string): string {
  return target.kind === "git_token" ? `Basic ${Buffer.from(`${target.username}:${secret}`).toString("base64")}` : `Bearer ${secret}`;
}
