// Broken variants of the sandboxes' repositories and egress.
import { patch, type BrokenVariant } from "./variant-kit.js";
import type { VaultImpl } from "./variant-server.js";

type ProvisionReq = { resources?: { env?: Record<string, string>; network?: { mode: number; allow: string[] }; repositories?: { url: string; credentialId: string; path: string; branch: string }[] } };
type CredentialReq = { credential?: { credentialId: string; kind: { value?: { token?: string } } } };

/** Remembers every secret created in the vault, for a variant that hands it on. */
function secretsSeen() {
  const secrets = new Map<string, string>();
  return {
    secrets,
    vault: (real: VaultImpl): VaultImpl =>
      patch(real, "createCredential", (orig) => async (req: never, call: never) => {
        const c = (req as CredentialReq).credential;
        if (c?.kind.value?.token) secrets.set(c.credentialId, c.kind.value.token);
        return orig(req, call);
      }),
  };
}

const leaking = secretsSeen();
const wiredSoFar: { url: string; credentialId: string }[] = [];

/** Defects in keeping credentials out of sandboxes and sandboxes in their lanes. */
export const gatewayVariants: readonly BrokenVariant[] = [
  {
    name: "Provision puts a wired repository's token into the sandbox's environment",
    breaks: ["SEC-12"],
    profile: ["sandbox/SEC-12/token-unreachable"],
    needsSandbox: true,
    vault: leaking.vault,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, call: never) => {
        const r = req as ProvisionReq;
        const tokens = (r.resources?.repositories ?? []).map((g) => leaking.secrets.get(g.credentialId)).filter((t): t is string => t !== undefined);
        const env = { ...(r.resources?.env ?? {}), ...(tokens[0] ? { GIT_TOKEN: tokens[0] } : {}) };
        return orig({ ...r, resources: { ...r.resources, env } } as never, call);
      }),
  },
  {
    name: "UpdateCredential answers but keeps the old secret",
    breaks: ["SEC-12"],
    profile: ["sandbox/SEC-12/rotation-without-reprovisioning"],
    needsSandbox: true,
    vault: (real) =>
      patch(real, "updateCredential", () => (req: never, call: never) =>
        (real as unknown as Record<string, (r: unknown, c: unknown) => unknown>)["getCredential"]!({ credentialId: (req as CredentialReq).credential?.credentialId ?? "" }, call)),
  },
  {
    name: "Provision wires every repository the tenant has wired before into each new sandbox",
    breaks: ["SEC-13"],
    profile: ["sandbox/SEC-13/only-wired-repositories"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, call: never) => {
        const r = req as ProvisionReq;
        const own = r.resources?.repositories ?? [];
        const extra = wiredSoFar.filter((w) => !own.some((o) => o.url === w.url)).map((w, i) => ({ ...w, path: `also-${i}`, branch: "" }));
        wiredSoFar.push(...own);
        return orig({ ...r, resources: { ...r.resources, repositories: [...own, ...extra] } } as never, call);
      }),
  },
  {
    name: "an allow-listed sandbox gets the host's whole network",
    breaks: ["SEC-15"],
    profile: ["sandbox/SEC-15/allow-list"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, call: never) => {
        const r = req as ProvisionReq;
        const network = r.resources?.network?.mode === 2 ? { mode: 3, allow: [] } : r.resources?.network;
        return orig({ ...r, resources: { ...r.resources, network } } as never, call);
      }),
  },
  {
    name: "Execute answers git push with success without pushing",
    breaks: ["SEC-12"],
    profile: ["sandbox/SEC-12/push-lands-upstream"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => (req: never, call: never) => {
        const r = req as { name: string; input?: { command?: string } };
        return r.name === "bash" && r.input?.command?.includes("git push") ? orig({ ...r, input: { command: "true" } } as never, call) : orig(req, call);
      }),
  },
  {
    name: "Provision leaves out a repository whose clone fails and answers with the sandbox",
    breaks: ["SEC-12"],
    profile: ["sandbox/SEC-12/provision-checks"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => async (req: never, call: never) => {
        try {
          return await orig(req, call);
        } catch (err) {
          if ((err as { reason?: string }).reason !== "CLONE_FAILED") throw err;
          const r = req as ProvisionReq;
          return orig({ ...r, resources: { ...r.resources, repositories: [] } } as never, call);
        }
      }),
  },
  {
    name: "Provision drops the allow-list entries it cannot read, and an empty list allows nothing",
    breaks: ["SEC-15"],
    profile: ["sandbox/SEC-15/bad-allow-list"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, call: never) => {
        const r = req as ProvisionReq;
        if (r.resources?.network?.mode !== 2) return orig(req, call);
        const allow = r.resources.network.allow.filter((a) => /^[a-z0-9.*-]+(:[0-9]+)?$/i.test(a));
        const network = allow.length > 0 ? { mode: 2, allow } : { mode: 1, allow: [] };
        return orig({ ...r, resources: { ...r.resources, network } } as never, call);
      }),
  },
];
