// Broken variants of the vault.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OmaError } from "../../server/src/errors/oma-error.js";
import type { Principal } from "../../server/src/auth/principal.js";
import { patch, type BrokenVariant } from "./variant-kit.js";

type CredentialReq = { credential?: { credentialId: string; kind: { case?: string; value?: { token?: string } } } };
type Call = { principal: Principal; signal: AbortSignal };

/** Defects in keeping secrets write-only, per tenant and sealed. */
export const vaultVariants: readonly BrokenVariant[] = [
  {
    name: "GetCredential returns the secret it was created with",
    breaks: ["SEC-11"],
    profile: ["vault/SEC-11/secret-write-only"],
    vault: (real) => {
      const secrets = new Map<string, string>();
      const remember = (orig: (...a: unknown[]) => unknown) => async (req: never, call: never) => {
        const c = (req as CredentialReq).credential;
        const res = await orig(req, call);
        if (c?.kind.value?.token) secrets.set(c.credentialId, c.kind.value.token);
        return res;
      };
      return patch(patch(patch(real, "createCredential", remember), "updateCredential", remember), "getCredential", (orig) => async (req: never, call: never) => {
        const res = (await orig(req, call)) as { credential: { credentialId: string; kind: { value: { token: string } } } };
        res.credential.kind.value.token = secrets.get(res.credential.credentialId) ?? "";
        return res;
      });
    },
  },
  {
    name: "GetCredential finds a credential in any tenant",
    breaks: ["SEC-11"],
    profile: ["vault/SEC-11/other-tenant-not-found"],
    vault: (real) => {
      const owners = new Map<string, string>();
      return patch(
        patch(real, "createCredential", (orig) => async (req: never, call: never) => {
          const res = (await orig(req, call)) as { credential: { credentialId: string; tenant: string } };
          owners.set(res.credential.credentialId, res.credential.tenant);
          return res;
        }),
        "getCredential",
        (orig) => async (req: never, call: never) => {
          const owner = owners.get((req as { credentialId: string }).credentialId);
          const c = call as Call;
          return orig(req, owner ? { ...c, principal: { ...c.principal, tenant: owner } } : c);
        },
      );
    },
  },
  {
    name: "keeps a plain copy of every secret in its data directory",
    breaks: ["SEC-11"],
    profile: ["vault/SEC-11/sealed-at-rest"],
    vault: (real, dataDir) =>
      patch(real, "createCredential", (orig) => async (req: never, call: never) => {
        const c = (req as CredentialReq).credential;
        await writeFile(join(dataDir, "secrets.txt"), `${c?.credentialId}=${c?.kind.value?.token}\n`, { flag: "a" });
        return orig(req, call);
      }),
  },
  {
    name: "ListCredentials starts over at a page token it cannot read",
    breaks: ["WIRE-4"],
    profile: ["wire/WIRE-4/credential-paging"],
    vault: (real) =>
      patch(real, "listCredentials", (orig) => async (req: never, call: never) => {
        try {
          return await orig(req, call);
        } catch (err) {
          if (err instanceof OmaError && err.reason === "INVALID_PAGE_TOKEN") return orig({ ...(req as object), pageToken: "" } as never, call);
          throw err;
        }
      }),
  },
  {
    name: "CreateCredential replaces a taken id",
    breaks: ["SEC-11"],
    profile: ["vault/SEC-11/create-rules"],
    vault: (real) =>
      patch(real, "createCredential", (orig) => async (req: never, call: never) => {
        try {
          return await orig(req, call);
        } catch (err) {
          if (err instanceof OmaError && err.reason === "CREDENTIAL_EXISTS") return (real as unknown as Record<string, (r: unknown, c: unknown) => unknown>)["updateCredential"]!(req, call);
          throw err;
        }
      }),
  },
];
