import type { Credential } from "@oma/client/gen/oma/v1/credential_pb.js";
import { invalidField } from "../errors/oma-error.js";
import { requireId } from "../rpc/field-rules.js";
import { DEFAULT_GIT_USERNAME, normalizeUrl, type CredentialTarget } from "./credential.js";
import type { CredentialInput } from "./vault.js";

/** Bounds of a credential's fields (credential.proto states the same). */
export const credentialBounds = {
  maxDisplayNameBytes: 256,
  maxHostBytes: 253,
  maxUsernameBytes: 256,
  maxSecretBytes: 8192,
  maxUrlPrefixBytes: 2048,
} as const;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
/** host[:port]: DNS labels, an IPv4 address, or a bracketed IPv6 address. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;
/** Printable ASCII: what an HTTP header value can carry without escaping. */
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * A Credential message as the vault takes it (INVALID_FIELD naming the field otherwise).
 * `idRequired`: UpdateCredential names an existing id; CreateCredential may leave it to
 * the server. Error messages never repeat a secret.
 */
export function credentialInput(c: Credential | undefined, idRequired: boolean): CredentialInput {
  if (!c) throw invalidField("credential", "required", "is required");
  const credentialId = c.credentialId === "" && !idRequired ? "" : requireId(c.credentialId, "credential.credential_id");
  if (bytes(c.displayName) > credentialBounds.maxDisplayNameBytes) {
    throw invalidField("credential.display_name", "max_bytes", `at most ${credentialBounds.maxDisplayNameBytes} bytes`, { limit: credentialBounds.maxDisplayNameBytes });
  }
  let target: CredentialTarget;
  let secret: string;
  switch (c.kind.case) {
    case "gitToken": {
      const host = c.kind.value.host.toLowerCase();
      if (host === "") throw invalidField("credential.git_token.host", "required", "is required");
      if (bytes(host) > credentialBounds.maxHostBytes || !HOST.test(host)) throw invalidField("credential.git_token.host", "host_grammar", "must be a host name or address, with an optional :port");
      const username = c.kind.value.username || DEFAULT_GIT_USERNAME;
      if (bytes(username) > credentialBounds.maxUsernameBytes || !PRINTABLE.test(username) || username.includes(":")) {
        throw invalidField("credential.git_token.username", "username_grammar", `must be at most ${credentialBounds.maxUsernameBytes} printable ASCII characters without ':'`);
      }
      target = { kind: "git_token", host, username };
      secret = requireSecret(c.kind.value.token, "credential.git_token.token");
      break;
    }
    case "bearer": {
      const raw = c.kind.value.urlPrefix;
      if (raw === "") throw invalidField("credential.bearer.url_prefix", "required", "is required");
      const url = normalizeUrl(raw);
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "" || url.hash !== "" || bytes(raw) > credentialBounds.maxUrlPrefixBytes) {
        throw invalidField("credential.bearer.url_prefix", "url_prefix_grammar", `must be an http or https URL of at most ${credentialBounds.maxUrlPrefixBytes} bytes, without user info or fragment`);
      }
      target = { kind: "bearer", urlPrefix: url.href };
      secret = requireSecret(c.kind.value.token, "credential.bearer.token");
      break;
    }
    default:
      throw invalidField("credential.kind", "required", "one of git_token or bearer is required");
  }
  return { credentialId, displayName: c.displayName, target, secret };
}

function requireSecret(token: string, field: string): string {
  if (token === "") throw invalidField(field, "required", "is required");
  if (bytes(token) > credentialBounds.maxSecretBytes || !PRINTABLE.test(token)) {
    throw invalidField(field, "secret_grammar", `must be at most ${credentialBounds.maxSecretBytes} characters of printable ASCII`, { limit: credentialBounds.maxSecretBytes });
  }
  return token;
}
