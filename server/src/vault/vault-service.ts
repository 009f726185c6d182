import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { CredentialSchema, type Credential } from "@oma/client/gen/oma/v1/credential_pb.js";
import type { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import { accessOf } from "../auth/principal.js";
import type { Handlers, Validators } from "../rpc/handlers.js";
import type { Paging } from "../rpc/paging.js";
import { requireId } from "../rpc/field-rules.js";
import type { CredentialInfo } from "./credential.js";
import { credentialInput } from "./validate-credential.js";
import type { Vault } from "./vault.js";

/** A credential as every response shows it: never its secret. */
export function toCredential(info: CredentialInfo): Credential {
  const t = info.target;
  return create(CredentialSchema, {
    credentialId: info.credentialId,
    displayName: info.displayName,
    kind: t.kind === "git_token" ? { case: "gitToken", value: { host: t.host, username: t.username } } : { case: "bearer", value: { urlPrefix: t.urlPrefix } },
    tenant: info.tenant,
    createTime: timestampFromMs(info.createMs),
    updateTime: timestampFromMs(info.updateMs),
  });
}

/** The rules of every VaultService request (run by the adapter before a handler). */
export const vaultValidators: Validators<typeof VaultService> = {
  createCredential: (req) => void credentialInput(req.credential, false),
  getCredential: (req) => void requireId(req.credentialId, "credential_id"),
  listCredentials: () => undefined,
  updateCredential: (req) => void credentialInput(req.credential, true),
  deleteCredential: (req) => void requireId(req.credentialId, "credential_id"),
};

/** VaultService (SEC-11): handlers translate the wire to the Vault; client and admin tokens, in their tenant. */
export function createVaultService(deps: { vault: Vault; paging: Paging }): Handlers<typeof VaultService> {
  const { vault, paging } = deps;
  return {
    async createCredential(req, call) {
      const input = credentialInput(req.credential, false);
      return { credential: toCredential(await vault.create(accessOf(call.principal).tenant, input)) };
    },

    async getCredential(req, call) {
      const id = requireId(req.credentialId, "credential_id");
      return { credential: toCredential(await vault.get(accessOf(call.principal).tenant, id)) };
    },

    async listCredentials(req, call) {
      const tenant = accessOf(call.principal).tenant;
      const query = { list: "ListCredentials", tenant };
      const page = paging.open(req, query);
      const found = await vault.list(tenant, page.cursor, page.size + 1);
      const shown = found.slice(0, page.size);
      return { credentials: shown.map(toCredential), nextPageToken: paging.next(found.length > page.size ? shown.at(-1)?.credentialId : undefined, query) };
    },

    async updateCredential(req, call) {
      const input = credentialInput(req.credential, true);
      return { credential: toCredential(await vault.update(accessOf(call.principal).tenant, input)) };
    },

    async deleteCredential(req, call) {
      await vault.delete(accessOf(call.principal).tenant, requireId(req.credentialId, "credential_id"));
      return {};
    },
  };
}
