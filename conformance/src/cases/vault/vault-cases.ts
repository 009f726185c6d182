import { toBinary } from "@bufbuild/protobuf";
import { CredentialSchema, type Credential } from "@oma/client/gen/oma/v1/credential_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { checkPageTokens, pageAll, sessionListToken, type ListUnderTest } from "../wire/page-tokens.js";
import { bearer, filesContaining, gitToken, plantedSecret, tenantClient, V } from "./vault-helpers.js";

const notFound = { code: "NOT_FOUND", reason: "CREDENTIAL_NOT_FOUND" } as const;
const invalid = (field: string) => ({ code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field }) as const;

/** Whether a returned credential carries the secret anywhere in its encoding. */
const carries = (c: Credential | undefined, secret: string) => c !== undefined && Buffer.from(toBinary(CredentialSchema, c)).includes(secret);

/** SEC-11: the vault's RPCs. */
export const vaultCases: ConformanceCase[] = [
  {
    id: "vault/SEC-11/secret-write-only",
    requirement: "SEC-11",
    level: "MUST",
    feature: "vault.credentials",
    title: "a credential's secret goes in with Create/UpdateCredential and comes out of no response (create, get, list, update); deleted, it is CREDENTIAL_NOT_FOUND",
    async run(ctx) {
      const credentialId = ctx.uniqueId("conf-cred");
      const first = plantedSecret();
      const second = plantedSecret();
      const created = await ctx.rpc.unary(V.createCredential, { credential: { credentialId, displayName: "conformance", kind: gitToken(first) } });
      checkEqual(created.credential?.credentialId, credentialId, "CreateCredential's credential_id");
      check(created.credential?.kind.case === "gitToken" && created.credential.kind.value.host === "git.conformance.example", "CreateCredential must return the git_token kind with its host");
      const got = (await ctx.rpc.unary(V.getCredential, { credentialId })).credential;
      const listed: Credential[] = [];
      let pageToken = "";
      for (let n = 0; n < 100; n++) {
        const page = await ctx.rpc.unary(V.listCredentials, { pageSize: 1000, pageToken });
        listed.push(...page.credentials);
        pageToken = page.nextPageToken;
        if (!pageToken) break;
      }
      check(listed.some((c) => c.credentialId === credentialId), "ListCredentials must list the new credential");
      const updated = (await ctx.rpc.unary(V.updateCredential, { credential: { credentialId, kind: bearer(second) } })).credential;
      check(updated?.kind.case === "bearer", "UpdateCredential must return the new kind");
      const after = (await ctx.rpc.unary(V.getCredential, { credentialId })).credential;
      for (const [what, c] of [["CreateCredential", created.credential], ["GetCredential", got], ["UpdateCredential", updated], ["GetCredential after the update", after], ...listed.map((l) => ["ListCredentials", l] as const)] as const) {
        check(!carries(c, first) && !carries(c, second), `${what} returned the secret`);
      }
      await ctx.rpc.unary(V.deleteCredential, { credentialId });
      await expectFailure(ctx.rpc.unary(V.getCredential, { credentialId }), notFound, "GetCredential of a deleted credential");
      await expectFailure(ctx.rpc.unary(V.deleteCredential, { credentialId }), notFound, "DeleteCredential of a deleted credential");
    },
  },
  {
    id: "vault/SEC-11/sealed-at-rest",
    requirement: "SEC-11",
    level: "MUST",
    feature: "vault.credentials",
    title: "a secret stored in the vault is nowhere in the target's data directory in plain text (needs --target-data-dir)",
    async run(ctx) {
      const secret = plantedSecret("rest");
      const credentialId = ctx.uniqueId("conf-rest");
      await ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: bearer(secret) } });
      try {
        if (!ctx.dataDir) {
          ctx.note("not checked on disk: the run was not given --target-data-dir");
          return;
        }
        const files = await filesContaining(ctx.dataDir, secret);
        check(files.length === 0, `the secret is in plain text in ${files.slice(0, 3).join(", ")}`);
      } finally {
        await ctx.rpc.unary(V.deleteCredential, { credentialId }).catch(() => undefined);
      }
    },
  },
  {
    id: "vault/SEC-11/create-rules",
    requirement: "SEC-11",
    level: "MUST",
    feature: "vault.credentials",
    title: "a taken id is CREDENTIAL_EXISTS; an empty id is assigned; a missing or malformed kind, host, URL prefix or token is INVALID_FIELD naming the field and stores nothing",
    async run(ctx) {
      const credentialId = ctx.uniqueId("conf-cred");
      const secret = plantedSecret();
      await ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: gitToken(secret) } });
      const taken = await expectFailure(ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: gitToken(plantedSecret()) } }), { code: "ALREADY_EXISTS", reason: "CREDENTIAL_EXISTS" }, "CreateCredential with a taken id");
      check(!taken.message.includes(secret), "the error repeats the secret");
      const assigned = (await ctx.rpc.unary(V.createCredential, { credential: { kind: bearer(plantedSecret()) } })).credential!.credentialId;
      check(assigned !== "", "CreateCredential with an empty id must assign one");
      await ctx.rpc.unary(V.deleteCredential, { credentialId: assigned });
      const bad: [string, object][] = [
        ["credential.kind", { credentialId: ctx.uniqueId("bad") }],
        ["credential.credential_id", { credentialId: "-bad/id", kind: gitToken(secret) }],
        ["credential.git_token.host", { credentialId: ctx.uniqueId("bad"), kind: gitToken(secret, "") }],
        ["credential.git_token.token", { credentialId: ctx.uniqueId("bad"), kind: gitToken("") }],
        ["credential.bearer.url_prefix", { credentialId: ctx.uniqueId("bad"), kind: bearer(secret, "not a url") }],
        ["credential.bearer.token", { credentialId: ctx.uniqueId("bad"), kind: bearer("") }],
      ];
      for (const [field, credential] of bad) {
        const failure = await expectFailure(ctx.rpc.unary(V.createCredential, { credential }), invalid(field), `CreateCredential with a bad ${field}`);
        check(!failure.message.includes(secret) && !Object.values(failure.metadata).some((v) => v.includes(secret)), `the error about ${field} repeats the secret`);
        const id = (credential as { credentialId: string }).credentialId;
        if (/^[A-Za-z0-9]/.test(id)) await expectFailure(ctx.rpc.unary(V.getCredential, { credentialId: id }), notFound, `a rejected CreateCredential (${field}) must store nothing`);
      }
      await ctx.rpc.unary(V.deleteCredential, { credentialId });
    },
  },
  {
    id: "vault/SEC-11/other-tenant-not-found",
    requirement: "SEC-11",
    level: "MUST",
    feature: "vault.credentials",
    title: "another tenant's credential is CREDENTIAL_NOT_FOUND for get, update and delete, exactly as a missing one, is not listed, and stays unchanged",
    async run(ctx) {
      const owner = await tenantClient(ctx);
      const intruder = await tenantClient(ctx);
      const credentialId = ctx.uniqueId("conf-cred");
      await owner.client.unary(V.createCredential, { credential: { credentialId, displayName: "owner's", kind: gitToken(plantedSecret()) } });
      for (const id of [credentialId, ctx.uniqueId("missing")]) {
        const what = id === credentialId ? "another tenant's credential" : "a missing credential";
        await expectFailure(intruder.client.unary(V.getCredential, { credentialId: id }), notFound, `GetCredential of ${what}`);
        await expectFailure(intruder.client.unary(V.updateCredential, { credential: { credentialId: id, displayName: "intruder", kind: gitToken(plantedSecret()) } }), notFound, `UpdateCredential of ${what}`);
        await expectFailure(intruder.client.unary(V.deleteCredential, { credentialId: id }), notFound, `DeleteCredential of ${what}`);
      }
      const listed = await intruder.client.unary(V.listCredentials, { pageSize: 1000 });
      check(!listed.credentials.some((c) => c.credentialId === credentialId), "ListCredentials of another tenant lists the credential");
      const kept = (await owner.client.unary(V.getCredential, { credentialId })).credential;
      checkEqual(kept?.displayName, "owner's", "the owner's credential after the other tenant's calls (display_name)");
    },
  },
  {
    id: "vault/SEC-11/brains-may-not-read",
    requirement: "SEC-11",
    level: "MUST",
    feature: "vault.credentials",
    title: "a worker token may not call VaultService: PERMISSION_DENIED for list, get and create",
    async run(ctx) {
      const worker = await tenantClient(ctx, TokenRole.WORKER);
      const denied = { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" } as const;
      await expectFailure(worker.client.unary(V.listCredentials, {}), denied, "ListCredentials with a worker token");
      await expectFailure(worker.client.unary(V.getCredential, { credentialId: "anything" }), denied, "GetCredential with a worker token");
      await expectFailure(worker.client.unary(V.createCredential, { credential: { kind: gitToken(plantedSecret()) } }), denied, "CreateCredential with a worker token");
    },
  },
  {
    id: "wire/WIRE-4/credential-paging",
    requirement: "WIRE-4",
    level: "MUST",
    feature: "vault.credentials",
    timeoutMs: 30_000,
    title: "ListCredentials: negative page_size is INVALID_FIELD; each credential once; tokens forged, altered or of another tenant are INVALID_PAGE_TOKEN",
    async run(ctx) {
      const mine = await tenantClient(ctx);
      const theirs = await tenantClient(ctx);
      await expectFailure(mine.client.unary(V.listCredentials, { pageSize: -1 }), invalid("page_size"), "ListCredentials with page_size -1");
      const ids = ["conf-a", "conf-b", "conf-c"];
      for (const credentialId of ids) await mine.client.unary(V.createCredential, { credential: { credentialId, kind: gitToken(plantedSecret()) } });
      await theirs.client.unary(V.createCredential, { credential: { credentialId: "conf-a", kind: gitToken(plantedSecret()) } });
      const list: ListUnderTest = {
        name: "ListCredentials",
        async page(pageSize, pageToken, filters = "own") {
          const res = await (filters === "own" ? mine : theirs).client.unary(V.listCredentials, { pageSize, pageToken });
          return { ids: res.credentials.map((c) => c.credentialId), nextPageToken: res.nextPageToken };
        },
      };
      for (const size of [1, 2, 3]) {
        const all = await pageAll(list, size);
        checkDeepEqual(all.ids, ids, `credentials paged by ${size}`);
      }
      await checkPageTokens(list, ids, await sessionListToken(ctx));
    },
  },
];
