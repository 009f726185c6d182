/**
 * Credentials as the domain sees them: where a secret may be sent, and the secret itself
 * only where a proxy needs it. Nothing here knows the wire.
 */

/** Where a secret may go: one git host (basic auth), or URLs under one prefix (bearer). */
export type CredentialTarget =
  | { readonly kind: "git_token"; readonly host: string; readonly username: string }
  | { readonly kind: "bearer"; readonly urlPrefix: string };

/** A credential without its secret: all that any RPC may show. */
export interface CredentialInfo {
  readonly tenant: string;
  readonly credentialId: string;
  readonly displayName: string;
  readonly target: CredentialTarget;
  readonly createMs: number;
  readonly updateMs: number;
}

/** A credential with its secret, for the proxies that add it to what they forward. */
export interface RevealedCredential extends CredentialInfo {
  readonly secret: string;
}

/** The username a git token is sent with when the credential names none. */
export const DEFAULT_GIT_USERNAME = "x-access-token";

/**
 * Whether `url` lies under a bearer credential's `prefix` (both normalised by
 * `normalizeUrl`): equal, or continuing at a path or query boundary, so that
 * "https://api.example.com/mcp" covers ".../mcp/x" but not ".../mcp-evil" and a host
 * never covers a longer host name.
 */
export function urlUnderPrefix(url: string, prefix: string): boolean {
  if (url === prefix) return true;
  if (!url.startsWith(prefix)) return false;
  if (prefix.endsWith("/")) return true;
  const next = url[prefix.length];
  return next === "/" || next === "?";
}

/** The URL in its canonical form (lower-case scheme and host, no default port), or undefined if unparsable. */
export function normalizeUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** `host[:port]` of a URL as a git_token credential names it (default ports left out). */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}
