import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { toBinary } from "@bufbuild/protobuf";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import { CredentialSchema } from "@oma/client/gen/oma/v1/credential_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { ClassicLevel } from "classic-level";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../app.js";
import { createLogger } from "../logger.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { tempDir } from "../testing/temp-dir.js";
import { rpcRejection } from "../testing/rpc-rejection.js";

// SEC-11 on the real server: VaultService over the wire, per tenant, write-only secrets,
// sealed at rest.
let app: TestApp;
let a: OmaClient;
let b: OmaClient;
const secret = () => `tok-${randomBytes(24).toString("base64url")}`;
const gitToken = (token: string, host = "git.example") => ({ case: "gitToken" as const, value: { host, username: "bot", token } });

beforeAll(async () => {
  app = await startTestApp();
  const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  const mint = async (tenant: string, role: TokenRole) => (await admin.tokens.createToken({ tenant, role })).bearerToken;
  a = createOmaClient({ baseUrl: app.url, token: await mint("vault-a", TokenRole.CLIENT) });
  b = createOmaClient({ baseUrl: app.url, token: await mint("vault-b", TokenRole.CLIENT), protocol: "grpc" });
});
afterAll(async () => app?.stop());

describe("SEC-11: VaultService", () => {
  it("create, get, list, update, delete; no response ever carries the secret", async () => {
    const id = `gh-${randomUUID()}`;
    const s1 = secret();
    const created = await a.vault.createCredential({ credential: { credentialId: id, displayName: "ci bot", kind: gitToken(s1, "Git.Example:8443") } });
    expect(created.credential?.kind).toEqual({ case: "gitToken", value: expect.objectContaining({ host: "git.example:8443", username: "bot", token: "" }) });
    expect(created.credential?.tenant).toBe("vault-a");
    const got = await a.vault.getCredential({ credentialId: id });
    const listed = await a.vault.listCredentials({});
    const s2 = secret();
    const updated = await a.vault.updateCredential({ credential: { credentialId: id, displayName: "rotated", kind: { case: "bearer", value: { urlPrefix: "HTTPS://Mcp.Example:443/tools", token: s2 } } } });
    expect(updated.credential?.kind).toEqual({ case: "bearer", value: expect.objectContaining({ urlPrefix: "https://mcp.example/tools", token: "" }) });
    for (const c of [created.credential!, got.credential!, ...listed.credentials, updated.credential!]) {
      const bytes = Buffer.from(toBinary(CredentialSchema, c)).toString("latin1");
      expect(bytes.includes(s1) || bytes.includes(s2)).toBe(false);
    }
    await a.vault.deleteCredential({ credentialId: id });
    expect((await rpcRejection(a.vault.getCredential({ credentialId: id }))).reason).toBe("CREDENTIAL_NOT_FOUND");
    expect((await rpcRejection(a.vault.deleteCredential({ credentialId: id }))).reason).toBe("CREDENTIAL_NOT_FOUND");
  });

  it("another tenant's credential is NOT_FOUND / CREDENTIAL_NOT_FOUND for every call, exactly as a missing one, and stays unchanged", async () => {
    const id = `shared-name-${randomUUID()}`;
    await a.vault.createCredential({ credential: { credentialId: id, displayName: "a's", kind: gitToken(secret()) } });
    const calls = (credentialId: string) => [
      b.vault.getCredential({ credentialId }),
      b.vault.updateCredential({ credential: { credentialId, kind: gitToken(secret()) } }),
      b.vault.deleteCredential({ credentialId }),
    ];
    const theirs = await Promise.all(calls(id).map(rpcRejection));
    const missing = await Promise.all(calls(`missing-${randomUUID()}`).map(rpcRejection));
    expect(theirs.map((e) => [e.code, e.reason])).toEqual(missing.map((e) => [e.code, e.reason]));
    expect(theirs[0]!.code).toBe(Code.NotFound);
    expect((await b.vault.listCredentials({})).credentials.map((c) => c.credentialId)).not.toContain(id);
    expect((await a.vault.getCredential({ credentialId: id })).credential?.displayName).toBe("a's");
    // The same id in b is b's own credential.
    await b.vault.createCredential({ credential: { credentialId: id, kind: gitToken(secret()) } });
    expect((await a.vault.getCredential({ credentialId: id })).credential?.tenant).toBe("vault-a");
  });

  it("a taken id is ALREADY_EXISTS / CREDENTIAL_EXISTS; a server-chosen id starts with cred_", async () => {
    const id = `dup-${randomUUID()}`;
    await a.vault.createCredential({ credential: { credentialId: id, kind: gitToken(secret()) } });
    const dup = await rpcRejection(a.vault.createCredential({ credential: { credentialId: id, kind: gitToken(secret()) } }));
    expect([dup.code, dup.reason]).toEqual([Code.AlreadyExists, "CREDENTIAL_EXISTS"]);
    expect((await a.vault.createCredential({ credential: { kind: gitToken(secret()) } })).credential?.credentialId).toMatch(/^cred_/);
  });

  it("bad input is INVALID_FIELD naming the field, never repeating the secret, and stores nothing", async () => {
    const s = secret();
    const bad: [string, Parameters<OmaClient["vault"]["createCredential"]>[0]][] = [
      ["credential", {}],
      ["credential.kind", { credential: { credentialId: "k1" } }],
      ["credential.credential_id", { credential: { credentialId: "../x", kind: gitToken(s) } }],
      ["credential.git_token.host", { credential: { credentialId: "k2", kind: gitToken(s, "") } }],
      ["credential.git_token.host", { credential: { credentialId: "k3", kind: gitToken(s, "https://git.example/") } }],
      ["credential.git_token.token", { credential: { credentialId: "k4", kind: gitToken("") } }],
      ["credential.git_token.token", { credential: { credentialId: "k5", kind: gitToken(`${s}\r\nx-evil: 1`) } }],
      ["credential.git_token.username", { credential: { credentialId: "k6", kind: { case: "gitToken", value: { host: "h", username: "a:b", token: s } } } }],
      ["credential.bearer.url_prefix", { credential: { credentialId: "k7", kind: { case: "bearer", value: { urlPrefix: "ftp://x/", token: s } } } }],
      ["credential.bearer.url_prefix", { credential: { credentialId: "k8", kind: { case: "bearer", value: { urlPrefix: "https://user:pw@x/", token: s } } } }],
      ["credential.bearer.token", { credential: { credentialId: "k9", kind: { case: "bearer", value: { urlPrefix: "https://x/", token: "t".repeat(8193) } } } }],
      ["credential.display_name", { credential: { credentialId: "k10", displayName: "d".repeat(257), kind: gitToken(s) } }],
    ];
    for (const [field, request] of bad) {
      const err = await rpcRejection(a.vault.createCredential(request));
      expect([err.code, err.reason, err.field], field).toEqual([Code.InvalidArgument, "INVALID_FIELD", field]);
      expect(JSON.stringify(err)).not.toContain(s);
    }
    const ids = (await a.vault.listCredentials({ pageSize: 1000 })).credentials.map((c) => c.credentialId);
    expect(ids.filter((id) => /^k\d+$/.test(id))).toEqual([]);
  });

  it("lists page by id (WIRE-4): every credential once; a token of one tenant opens nothing in another", async () => {
    const c = createOmaClient({ baseUrl: app.url, token: (await createOmaClient({ baseUrl: app.url, token: app.adminToken }).tokens.createToken({ tenant: `paging-${randomUUID().slice(0, 8)}`, role: TokenRole.CLIENT })).bearerToken });
    const ids = Array.from({ length: 5 }, (_, i) => `p${i}`);
    for (const id of ids) await c.vault.createCredential({ credential: { credentialId: id, kind: gitToken(secret()) } });
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await c.vault.listCredentials({ pageSize: 2, pageToken });
      seen.push(...page.credentials.map((x) => x.credentialId));
      pageToken = page.nextPageToken;
      if (pageToken) expect((await rpcRejection(a.vault.listCredentials({ pageSize: 2, pageToken }))).reason).toBe("INVALID_PAGE_TOKEN");
    } while (pageToken);
    expect(seen).toEqual(ids);
    expect((await rpcRejection(c.vault.listCredentials({ pageSize: -1 }))).field).toBe("page_size");
  });

  it("worker tokens and session tokens may not call the vault (PERMISSION_DENIED)", async () => {
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const worker = createOmaClient({ baseUrl: app.url, token: (await admin.tokens.createToken({ tenant: "vault-a", role: TokenRole.WORKER })).bearerToken });
    // One call at a time: a call made before the loop awaits it could reject unhandled.
    for (const call of [() => worker.vault.listCredentials({}), () => worker.vault.getCredential({ credentialId: "x" }), () => worker.vault.createCredential({ credential: { kind: gitToken(secret()) } })]) {
      expect((await rpcRejection(call())).reason).toBe("PERMISSION_DENIED");
    }
  });
});

describe("SEC-11: at rest", () => {
  it("the secret is nowhere in the data directory in plain text; a restart with another vault key refuses to start", async () => {
    const dir = await tempDir("oma-vault-rest-");
    const logger = createLogger({ level: "silent" });
    const s = secret();
    try {
      const first = await startApp({ dataDir: dir.path, port: 0, host: "127.0.0.1", logger });
      const token = (await readFile(first.adminTokenFile!, "utf8")).trim();
      await createOmaClient({ baseUrl: first.url, token }).vault.createCredential({ credential: { credentialId: "gh", kind: gitToken(s) } });
      await first.close();
      // Every file of the data directory, and every value LevelDB holds.
      for (const file of await readdir(dir.path, { recursive: true })) {
        const content = await readFile(join(dir.path, file)).catch(() => Buffer.alloc(0));
        expect(content.includes(s), file).toBe(false);
      }
      const db = new ClassicLevel<string, Uint8Array>(join(dir.path, "leveldb"), { valueEncoding: "view" });
      for await (const [k, v] of db.iterator()) expect(Buffer.from(v).includes(s) || k.includes(s)).toBe(false);
      await db.close();
      const wrongKey = randomBytes(32).toString("hex");
      const saved = process.env["OMA_VAULT_KEY"];
      process.env["OMA_VAULT_KEY"] = wrongKey;
      try {
        await expect(startApp({ dataDir: dir.path, port: 0, host: "127.0.0.1", logger })).rejects.toThrow(/not the key this server's credentials were sealed with/);
      } finally {
        if (saved === undefined) delete process.env["OMA_VAULT_KEY"];
        else process.env["OMA_VAULT_KEY"] = saved;
      }
      const again = await startApp({ dataDir: dir.path, port: 0, host: "127.0.0.1", logger });
      expect((await createOmaClient({ baseUrl: again.url, token }).vault.getCredential({ credentialId: "gh" })).credential?.credentialId).toBe("gh");
      await again.close();
    } finally {
      await dir.remove();
    }
  });
});
