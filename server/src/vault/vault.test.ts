import { stat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { tempDir } from "../testing/temp-dir.js";
import { urlUnderPrefix } from "./credential.js";
import { MemoryCredentialStore } from "./memory-credential-store.js";
import { SecretSealer, sealBinding } from "./sealed-secret.js";
import { loadVaultKey, VAULT_KEY_FILE } from "./vault-key.js";
import { Vault } from "./vault.js";

const key = (fill: number) => new Uint8Array(32).fill(fill);
const logger = createLogger({ level: "silent" });

describe("SEC-11: secrets sealed with AES-256-GCM", () => {
  it("a sealed secret opens only with its key and its own tenant and id; the ciphertext never holds the plain text", () => {
    const sealer = new SecretSealer(key(7));
    const sealed = sealer.seal("ghp_plain-text-token", sealBinding("acme", "gh"));
    expect(JSON.stringify(sealed)).not.toContain("ghp_plain-text-token");
    expect(sealer.open(sealed, sealBinding("acme", "gh"))).toBe("ghp_plain-text-token");
    expect(sealer.open(sealed, sealBinding("other", "gh"))).toBeUndefined();
    expect(sealer.open(sealed, sealBinding("acme", "gh2"))).toBeUndefined();
    expect(new SecretSealer(key(8)).open(sealed, sealBinding("acme", "gh"))).toBeUndefined();
    const flipped = Buffer.from(sealed.data, "base64");
    flipped[0] = flipped[0]! ^ 1;
    expect(sealer.open({ ...sealed, data: flipped.toString("base64") }, sealBinding("acme", "gh"))).toBeUndefined();
  });

  it("two seals of one secret differ (fresh nonce each time)", () => {
    const sealer = new SecretSealer(key(7));
    expect(sealer.seal("same", "t/c").data).not.toBe(sealer.seal("same", "t/c").data);
  });
});

describe("the vault key", () => {
  it("is created at first start as <dataDir>/vault.key, mode 0600, and read back unchanged", async () => {
    const dir = await tempDir();
    try {
      const first = await loadVaultKey(dir.path, {});
      expect(first.created).toBe(true);
      expect((await stat(join(dir.path, VAULT_KEY_FILE))).mode & 0o777).toBe(0o600);
      const again = await loadVaultKey(dir.path, {});
      expect(again.created).toBe(false);
      expect(Buffer.from(again.key).equals(Buffer.from(first.key))).toBe(true);
    } finally {
      await dir.remove();
    }
  });

  it("OMA_VAULT_KEY (hex or base64) wins and writes no file; a malformed key is an error, never a new key", async () => {
    const dir = await tempDir();
    try {
      const hex = "ab".repeat(32);
      expect(Buffer.from((await loadVaultKey(dir.path, { OMA_VAULT_KEY: hex })).key).toString("hex")).toBe(hex);
      const b64 = Buffer.from(key(3)).toString("base64");
      expect(Buffer.from((await loadVaultKey(dir.path, { OMA_VAULT_KEY: b64 })).key).equals(Buffer.from(key(3)))).toBe(true);
      await expect(stat(join(dir.path, VAULT_KEY_FILE))).rejects.toThrow();
      await expect(loadVaultKey(dir.path, { OMA_VAULT_KEY: "too-short" })).rejects.toThrow(/32 bytes/);
      await writeFile(join(dir.path, VAULT_KEY_FILE), "garbage\n");
      await expect(loadVaultKey(dir.path, {})).rejects.toThrow(/32 bytes/);
      expect(await readFile(join(dir.path, VAULT_KEY_FILE), "utf8")).toBe("garbage\n");
    } finally {
      await dir.remove();
    }
  });

  it("on a shared store the key must come from OMA_VAULT_KEY: no key file is made or read", async () => {
    const dir = await tempDir();
    try {
      await expect(loadVaultKey(dir.path, {}, { shared: true })).rejects.toThrow(/must be set in OMA_VAULT_KEY, the same on every server/);
      await expect(stat(join(dir.path, VAULT_KEY_FILE))).rejects.toThrow();
      await loadVaultKey(dir.path, {});
      await expect(loadVaultKey(dir.path, {}, { shared: true })).rejects.toThrow(/OMA_VAULT_KEY/);
      const hex = "cd".repeat(32);
      expect(Buffer.from((await loadVaultKey(dir.path, { OMA_VAULT_KEY: hex }, { shared: true })).key).toString("hex")).toBe(hex);
    } finally {
      await dir.remove();
    }
  });
});

describe("Vault", () => {
  const open = () => {
    let now = 1000;
    const vault = new Vault({ store: new MemoryCredentialStore(), sealer: new SecretSealer(key(1)), logger, now: () => now, maxPerTenant: 3 });
    return { vault, tick: () => (now += 1000) };
  };
  const git = { kind: "git_token" as const, host: "git.example", username: "bot" };

  it("reveal returns the newest secret: an update takes effect for the very next lookup", async () => {
    const { vault, tick } = open();
    const created = await vault.create("acme", { credentialId: "gh", displayName: "d", target: git, secret: "old-secret" });
    expect(created).not.toHaveProperty("secret");
    expect((await vault.reveal("acme", "gh"))?.secret).toBe("old-secret");
    tick();
    const updated = await vault.update("acme", { credentialId: "gh", displayName: "d2", target: git, secret: "new-secret" });
    expect([updated.createMs, updated.updateMs]).toEqual([1000, 2000]);
    expect((await vault.reveal("acme", "gh"))?.secret).toBe("new-secret");
    await vault.delete("acme", "gh");
    expect(await vault.reveal("acme", "gh")).toBeUndefined();
  });

  it("another tenant's credential is CREDENTIAL_NOT_FOUND for get, update and delete, and reveal finds nothing", async () => {
    const { vault } = open();
    await vault.create("acme", { credentialId: "gh", displayName: "", target: git, secret: "s" });
    for (const p of [vault.get("evil", "gh"), vault.update("evil", { credentialId: "gh", displayName: "", target: git, secret: "x" }), vault.delete("evil", "gh")]) {
      await expect(p).rejects.toMatchObject({ reason: "CREDENTIAL_NOT_FOUND" });
    }
    expect(await vault.reveal("evil", "gh")).toBeUndefined();
    expect((await vault.reveal("acme", "gh"))?.secret).toBe("s");
  });

  it("server-assigned ids start with cred_; a taken id is CREDENTIAL_EXISTS; the tenant bound is LIMIT_REACHED", async () => {
    const { vault } = open();
    const a = await vault.create("acme", { credentialId: "", displayName: "", target: git, secret: "s" });
    expect(a.credentialId).toMatch(/^cred_[0-9a-f]{24}$/);
    await vault.create("acme", { credentialId: "x", displayName: "", target: git, secret: "s" });
    await expect(vault.create("acme", { credentialId: "x", displayName: "", target: git, secret: "s" })).rejects.toMatchObject({ reason: "CREDENTIAL_EXISTS" });
    await vault.create("acme", { credentialId: "y", displayName: "", target: git, secret: "s" });
    await expect(vault.create("acme", { credentialId: "z", displayName: "", target: git, secret: "s" })).rejects.toMatchObject({ reason: "LIMIT_REACHED" });
  });
});

describe("bearer URL prefixes", () => {
  it("cover the prefix and what continues it at a path or query boundary, nothing else", () => {
    expect(urlUnderPrefix("https://api.example/mcp", "https://api.example/mcp")).toBe(true);
    expect(urlUnderPrefix("https://api.example/mcp/x", "https://api.example/mcp")).toBe(true);
    expect(urlUnderPrefix("https://api.example/mcp?x=1", "https://api.example/mcp")).toBe(true);
    expect(urlUnderPrefix("https://api.example/mcp-evil", "https://api.example/mcp")).toBe(false);
    expect(urlUnderPrefix("https://api.example.evil/", "https://api.example/")).toBe(false);
    expect(urlUnderPrefix("https://api.example/anything", "https://api.example/")).toBe(true);
  });
});
