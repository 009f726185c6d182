import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { TokenRole, TokenSchema, type Token } from "@oma/client/gen/oma/v1/token_pb.js";
import type { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { Handlers, Validators } from "../rpc/handlers.js";
import type { Paging } from "../rpc/paging.js";
import { hashBearerToken, mintBearerToken, TOKEN_ID_PATTERN } from "./bearer-token.js";
import { ANY_TENANT, TENANT_PATTERN, type Role } from "./principal.js";
import type { TokenRecord, TokenStore } from "./token-store.js";

/** Token descriptions are at most this many bytes. */
export const MAX_TOKEN_DESCRIPTION_BYTES = 256;

const roleOf: Readonly<Record<number, Role>> = { [TokenRole.CLIENT]: "client", [TokenRole.WORKER]: "worker", [TokenRole.ADMIN]: "admin" };
const wireRole: Readonly<Record<Role, TokenRole>> = { client: TokenRole.CLIENT, worker: TokenRole.WORKER, admin: TokenRole.ADMIN };

export function toToken(r: TokenRecord): Token {
  return create(TokenSchema, {
    tokenId: r.tokenId,
    tenant: r.tenant,
    role: wireRole[r.role],
    description: r.description,
    createTime: timestampFromMs(r.createMs),
    ...(r.revokeMs !== undefined ? { revokeTime: timestampFromMs(r.revokeMs) } : {}),
  });
}

/** Checks a new token's fields; "*" is a tenant only for worker pool tokens. */
export function validateNewToken(tenant: string, role: TokenRole, description: string): { tenant: string; role: Role; description: string } {
  const r = roleOf[role];
  if (!r) throw invalidField("role", role === TokenRole.UNSPECIFIED ? "required" : "enum", "must be client, worker or admin", { value: role });
  if (tenant === "") throw invalidField("tenant", "required", "is required");
  if (tenant === ANY_TENANT) {
    if (r !== "worker") throw invalidField("tenant", "any_tenant_worker_only", `"${ANY_TENANT}" is a tenant only for worker (pool) tokens`);
  } else if (!TENANT_PATTERN.test(tenant)) {
    throw invalidField("tenant", "tenant_grammar", "must be 1–64 characters of [A-Za-z0-9._-], not starting with '.' or '-'", { length: tenant.length });
  }
  if (Buffer.byteLength(description) > MAX_TOKEN_DESCRIPTION_BYTES) {
    throw invalidField("description", "max_bytes", `at most ${MAX_TOKEN_DESCRIPTION_BYTES} bytes`, { limit: MAX_TOKEN_DESCRIPTION_BYTES });
  }
  return { tenant, role: r, description };
}

/** Creates a token in the store; returns its record and the bearer token (shown once). */
export async function createToken(store: TokenStore, fields: { tenant: string; role: Role; description: string }, now = Date.now()): Promise<{ record: TokenRecord; bearer: string }> {
  const { tokenId, bearer } = mintBearerToken();
  const record: TokenRecord = { tokenId, ...fields, hash: hashBearerToken(bearer), createMs: now };
  await store.create(record);
  return { record, bearer };
}

/** The rules of every TokenService request. */
export const tokenValidators: Validators<typeof TokenService> = {
  createToken: (req) => void validateNewToken(req.tenant, req.role, req.description),
  listTokens(req) {
    if (req.tenant !== "" && req.tenant !== ANY_TENANT && !TENANT_PATTERN.test(req.tenant)) throw invalidField("tenant", "tenant_grammar", 'must be a tenant name or "*"');
  },
  revokeToken(req) {
    if (!TOKEN_ID_PATTERN.test(req.tokenId)) throw invalidField("token_id", req.tokenId === "" ? "required" : "token_id_grammar", "must be tok_ and 16 hex digits");
  },
};

/** TokenService (admin only, by the access policy): create, list and revoke tokens. */
export function createTokenService(deps: { store: TokenStore; paging: Paging }): Handlers<typeof TokenService> {
  const { store, paging } = deps;
  return {
    async createToken(req) {
      const { record, bearer } = await createToken(store, validateNewToken(req.tenant, req.role, req.description));
      return { token: toToken(record), bearerToken: bearer };
    },

    async listTokens(req) {
      const query = { list: "ListTokens", tenant: req.tenant };
      const page = paging.open(req, query);
      const tokens: TokenRecord[] = [];
      let after = page.cursor;
      // Filtering by tenant reads on until the page is full (one extra proves a next page).
      for (;;) {
        const batch = await store.list(after, page.size + 1);
        for (const t of batch) if (req.tenant === "" || t.tenant === req.tenant) tokens.push(t);
        if (batch.length < page.size + 1 || tokens.length > page.size) break;
        after = batch.at(-1)!.tokenId;
      }
      const shown = tokens.slice(0, page.size);
      return { tokens: shown.map(toToken), nextPageToken: paging.next(tokens.length > page.size ? shown.at(-1)?.tokenId : undefined, query) };
    },

    async revokeToken(req) {
      const record = await store.revoke(req.tokenId, Date.now());
      if (!record) throw new OmaError("TOKEN_NOT_FOUND", `no token ${req.tokenId}`, { token_id: req.tokenId });
      return { token: toToken(record) };
    },
  };
}
