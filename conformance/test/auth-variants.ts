// Broken variants of authentication, roles and tenants (SEC-4..SEC-10).
import { bearerTokenId } from "../../server/src/auth/bearer-token.js";
import type { Authenticator, HeaderLookup } from "../../server/src/auth/authenticate.js";
import type { Principal } from "../../server/src/auth/principal.js";
import { OmaError } from "../../server/src/errors/oma-error.js";
import { patch, type BrokenVariant } from "./variant-kit.js";

type Call = { principal: Principal; signal: AbortSignal };
type Authenticate = (headers: HeaderLookup) => Promise<Principal>;

/** The authenticator with `authenticate` replaced (the instance keeps its revocation feed). */
function authenticating(real: Authenticator, fn: (orig: Authenticate, headers: HeaderLookup) => Promise<Principal>): Authenticator {
  const orig = real.authenticate.bind(real);
  real.authenticate = (headers) => fn(orig, headers);
  return real;
}

/** A call's principal moved to another tenant. */
const inTenant = (call: unknown, tenant: string) => ({ ...(call as Call), principal: { ...(call as Call).principal, tenant } });

/** Remembers the tenant of each resource a handler creates, by id. */
function owners() {
  const byId = new Map<string, string>();
  return {
    byId,
    tenants: () => new Set(byId.values()),
    remember: (idOf: (res: never) => { id: string; tenant: string } | undefined) => (orig: (...a: unknown[]) => unknown) => async (req: never, call: never) => {
      const res = await orig(req, call);
      const owned = idOf(res as never);
      if (owned) byId.set(owned.id, owned.tenant);
      return res;
    },
  };
}

const sessions = owners();
const sandboxes = owners();
const listedSessions = owners();
const bearers = new Map<string, string>();

export const authVariants: readonly BrokenVariant[] = [
  {
    name: "a call without a bearer token acts as an admin of the default tenant",
    breaks: ["SEC-4"],
    profile: ["auth/SEC-4/every-call-needs-a-valid-token"],
    authenticator: (real) => authenticating(real, (orig, headers) => (headers.get("authorization") ? orig(headers) : Promise.resolve({ tokenId: "", tenant: "default", role: "admin" }))),
  },
  {
    name: "a bearer token is looked up by its id and its secret never compared",
    breaks: ["SEC-4"],
    profile: ["auth/SEC-4/every-call-needs-a-valid-token"],
    authenticator: (real, store) =>
      authenticating(real, async (orig, headers) => {
        try {
          return await orig(headers);
        } catch (err) {
          const tokenId = bearerTokenId(headers.get("authorization")?.replace(/^Bearer +/i, "") ?? "");
          const record = tokenId ? await store.get(tokenId) : undefined;
          if (!(err instanceof OmaError) || err.metadata["cause"] !== "unknown" || !record || record.revokeMs !== undefined) throw err;
          return { tokenId: record.tokenId, tenant: record.tenant, role: record.role };
        }
      }),
  },
  {
    name: "a worker token may do whatever a client token may",
    breaks: ["SEC-5", "SEC-11"],
    profile: ["auth/SEC-5/role-rights", "vault/SEC-11/brains-may-not-read"],
    authenticator: (real) => authenticating(real, async (orig, headers) => {
      const p = await orig(headers);
      return p.role === "worker" && !p.scope ? { ...p, role: "client" } : p;
    }),
  },
  {
    name: "any token acts in the tenant its oma-tenant header names",
    breaks: ["SEC-6"],
    profile: ["auth/SEC-6/acting-in-a-tenant"],
    authenticator: (real) =>
      authenticating(real, async (orig, headers) => {
        const named = headers.get("oma-tenant");
        const p = await orig({ get: (name) => (name.toLowerCase() === "oma-tenant" ? null : headers.get(name)) });
        return named ? { ...p, tenant: named } : p;
      }),
  },
  {
    name: "a session token acts as a client token of its tenant",
    breaks: ["SEC-7"],
    profile: ["auth/SEC-7/session-token-reaches-one-session"],
    servesHarness: true,
    authenticator: (real) => authenticating(real, async (orig, headers) => {
      const p = await orig(headers);
      return p.scope ? { tokenId: p.tokenId, tenant: p.tenant, role: "client" } : p;
    }),
  },
  {
    name: "RenewLease with a session token returns no fresh one",
    breaks: ["SEC-7"],
    profile: ["auth/SEC-7/session-token-reaches-one-session"],
    servesHarness: true,
    session: (real) => patch(real, "renewLease", (orig) => async (req: never, call: never) => ({ ...((await orig(req, call)) as object), sessionToken: "" })),
  },
  {
    name: "revoking a token leaves its open streams running",
    breaks: ["SEC-8"],
    profile: ["auth/SEC-8/*"],
    servesHarness: true,
    authenticator: (real) => {
      real.watchRevocation = () => () => undefined;
      return real;
    },
  },
  {
    name: "a session token outlives the worker token it was issued under",
    breaks: ["SEC-8"],
    profile: ["auth/SEC-8/revoked-worker-token"],
    servesHarness: true,
    authenticator: (real) =>
      authenticating(real, async (orig, headers) => {
        try {
          return await orig(headers);
        } catch (err) {
          const bearer = headers.get("authorization")?.replace(/^Bearer +/i, "") ?? "";
          if (!(err instanceof OmaError) || err.metadata["cause"] !== "revoked" || !bearer.startsWith("omas_")) throw err;
          // The claims as the reference writes them (session-token.ts), read without the revocation check.
          const claims = JSON.parse(Buffer.from(bearer.slice(5).split(".")[0]!, "base64url").toString()) as { t: string; s: string; h: string; k: string };
          return { tokenId: claims.k, tenant: claims.t, role: "worker", scope: { sessionId: claims.s, harnessId: claims.h } };
        }
      }),
  },
  {
    name: "ListTokens shows each token's bearer token as its description",
    breaks: ["SEC-9"],
    profile: ["auth/SEC-9/bearer-shown-once"],
    tokens: (real) =>
      patch(
        patch(real, "createToken", (orig) => async (req: never, call: never) => {
          const res = (await orig(req, call)) as { token: { tokenId: string }; bearerToken: string };
          bearers.set(res.token.tokenId, res.bearerToken);
          return res;
        }),
        "listTokens",
        (orig) => async (req: never, call: never) => {
          const res = (await orig(req, call)) as { tokens: { tokenId: string; description: string }[] };
          for (const t of res.tokens) t.description = bearers.get(t.tokenId) ?? t.description;
          return res;
        },
      ),
  },
  {
    name: "GetSession finds a session in any tenant",
    breaks: ["SEC-10"],
    profile: ["auth/SEC-10/other-tenant-session-not-found"],
    session: (real) =>
      patch(patch(real, "createSession", sessions.remember((res: { session: { sessionId: string; tenant: string } }) => ({ id: res.session.sessionId, tenant: res.session.tenant }))), "getSession", (orig) => (req: never, call: never) => {
        const owner = sessions.byId.get((req as { sessionId: string }).sessionId);
        return orig(req, owner ? inTenant(call, owner) : call);
      }),
  },
  {
    name: "a ListSessions page token opens the listing of any tenant it was issued to",
    breaks: ["SEC-10"],
    profile: ["auth/SEC-10/page-tokens-bound-to-tenant"],
    session: (real) =>
      patch(patch(real, "createSession", listedSessions.remember((res: { session: { sessionId: string; tenant: string } }) => ({ id: res.session.sessionId, tenant: res.session.tenant }))), "listSessions", (orig) => async (req: never, call: never) => {
        try {
          return await orig(req, call);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "INVALID_PAGE_TOKEN") throw err;
          for (const tenant of listedSessions.tenants()) {
            const page = await Promise.resolve(orig(req, inTenant(call, tenant))).catch(() => undefined);
            if (page) return page;
          }
          throw err;
        }
      }),
  },
  {
    name: "DestroySandbox destroys a sandbox of any tenant",
    breaks: ["SEC-10"],
    profile: ["auth/SEC-10/other-tenant-sandbox-not-found"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(patch(real, "provision", sandboxes.remember((res: { sandbox: { sandboxId: string; tenant: string } }) => ({ id: res.sandbox.sandboxId, tenant: res.sandbox.tenant }))), "destroySandbox", (orig) => (req: never, call: never) => {
        const owner = sandboxes.byId.get((req as { sandboxId: string }).sandboxId);
        return orig(req, owner ? inTenant(call, owner) : call);
      }),
  },
];
