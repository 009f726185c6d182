import type { DescMethod } from "@bufbuild/protobuf";
import { ANY_TENANT, type Principal } from "../auth/principal.js";
import { OmaError } from "../errors/oma-error.js";
import { procedureName } from "./procedure-name.js";

/**
 * Who may call a method (SEC-4):
 * - `any`: every authenticated caller (server info, the tool list);
 * - `client`: client and admin tokens, in their tenant;
 * - `session`: as `client`, and a session token for the session the request names;
 * - `sandbox`: as `client`, and a session token (the sandbox's session is checked where
 *   the sandbox is looked up: a sandbox of another session is not found);
 * - `worker`: worker tokens (not session tokens) and admins;
 * - `admin`: admins only.
 */
export type AccessRule =
  | { readonly kind: "any" | "client" | "sandbox" | "worker" | "admin" }
  | { readonly kind: "session"; readonly sessionIdOf: (request: unknown) => string };

const sessionField: AccessRule = { kind: "session", sessionIdOf: (req) => (req as { sessionId: string }).sessionId };
const rule = (kind: "any" | "client" | "sandbox" | "worker" | "admin"): AccessRule => ({ kind });

/** Every served method's rule; a method missing here is refused to everyone but admins. */
const rules: Readonly<Record<string, AccessRule>> = {
  "oma.v1.SessionService/CreateSession": rule("client"),
  "oma.v1.SessionService/GetSession": sessionField,
  "oma.v1.SessionService/ListSessions": rule("client"),
  "oma.v1.SessionService/DeleteSession": rule("client"),
  "oma.v1.SessionService/EmitEvent": sessionField,
  "oma.v1.SessionService/EmitEvents": sessionField,
  // Checked for every request of the stream.
  "oma.v1.SessionService/AppendEvents": sessionField,
  "oma.v1.SessionService/GetEvents": sessionField,
  "oma.v1.SessionService/WatchEvents": sessionField,
  "oma.v1.SessionService/AcquireLease": sessionField,
  "oma.v1.SessionService/RenewLease": sessionField,
  "oma.v1.SessionService/ReleaseLease": sessionField,
  "oma.v1.HarnessService/Wake": rule("client"),
  "oma.v1.HarnessService/ListHarnesses": rule("client"),
  "oma.v1.HarnessService/ConnectWorker": rule("worker"),
  "oma.v1.SandboxService/Provision": sessionField,
  "oma.v1.SandboxService/Execute": rule("sandbox"),
  "oma.v1.SandboxService/ExecuteStream": rule("sandbox"),
  "oma.v1.SandboxService/ListTools": rule("any"),
  "oma.v1.SandboxService/GetSandbox": rule("sandbox"),
  "oma.v1.SandboxService/ListSandboxes": rule("client"),
  "oma.v1.SandboxService/DestroySandbox": rule("sandbox"),
  "oma.v1.SandboxService/RenewSandbox": rule("sandbox"),
  "oma.v1.ServerInfoService/GetServerInfo": rule("any"),
  "oma.v1.TokenService/CreateToken": rule("admin"),
  "oma.v1.TokenService/ListTokens": rule("admin"),
  "oma.v1.TokenService/RevokeToken": rule("admin"),
  "oma.v1.VaultService/CreateCredential": rule("client"),
  "oma.v1.VaultService/GetCredential": rule("client"),
  "oma.v1.VaultService/ListCredentials": rule("client"),
  "oma.v1.VaultService/UpdateCredential": rule("client"),
  "oma.v1.VaultService/DeleteCredential": rule("client"),
};

const adminOnly = rule("admin");

export function accessRuleOf(method: DescMethod): AccessRule {
  return rules[procedureName(method)] ?? adminOnly;
}

/** Whether a method has a rule of its own (a test checks that every served method does). */
export function hasAccessRule(method: DescMethod): boolean {
  return procedureName(method) in rules;
}

/** PERMISSION_DENIED unless the principal may make this call with this request. */
export function authorize(rule: AccessRule, principal: Principal, request: unknown, procedure: string): void {
  if (principal.role === "admin" || rule.kind === "any") return;
  const denied = (why: string) => new OmaError("PERMISSION_DENIED", `a ${describe(principal)} ${why}`, { role: principal.role, procedure });
  if (principal.role === "client") {
    if (rule.kind === "client" || rule.kind === "session" || rule.kind === "sandbox") return;
    throw denied(`may not call ${procedure}`);
  }
  // Worker tokens: ConnectWorker only; session tokens: their own session and its sandboxes.
  const scope = principal.scope;
  if (!scope) {
    if (rule.kind === "worker") return;
    throw denied(`may only call ConnectWorker and ListTools; a brain uses the session token of its assignment for ${procedure}`);
  }
  if (rule.kind === "sandbox") return;
  if (rule.kind === "session") {
    if (rule.sessionIdOf(request) === scope.sessionId && principal.tenant !== ANY_TENANT) return;
    throw denied(`for session ${scope.sessionId} may not touch another session`);
  }
  throw denied(`may not call ${procedure}`);
}

function describe(p: Principal): string {
  return p.scope ? "session token" : `${p.role} token`;
}
