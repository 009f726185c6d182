import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mintBearerToken, hashBearerToken } from "./bearer-token.js";
import type { TokenRecord, TokenStore } from "./token-store.js";

/** A fresh token record (never stored) of `tenant`. */
export function newRecord(tenant = "t1", createMs = 1_000): TokenRecord {
  const { tokenId, bearer } = mintBearerToken();
  return { tokenId, tenant, role: "client", description: `token of ${tenant}`, hash: hashBearerToken(bearer), createMs };
}

const plain = (r: TokenRecord | undefined) => r && { ...r, hash: Buffer.from(r.hash).toString("hex") };

/** Resolves once `check` holds; another server hears of a change a moment later. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check(), what).toBe(true);
}

/**
 * What every TokenStore promises (token-store.ts). `open` gives a store over fresh,
 * empty storage.
 */
export function describeTokenStoreContract(name: string, open: () => Promise<{ store: TokenStore; close(): Promise<void> }>): void {
  describe(`TokenStore contract: ${name}`, () => {
    let fx: { store: TokenStore; close(): Promise<void> };
    let store: TokenStore;
    beforeEach(async () => {
      fx = await open();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.close();
    });

    it("keeps a created token as given, and never replaces one: a second create of its id fails and the first stays", async () => {
      const record = newRecord();
      await store.create(record);
      expect(plain(await store.get(record.tokenId))).toEqual(plain(record));
      await expect(store.create({ ...record, tenant: "other", hash: randomBytes(32) })).rejects.toThrow();
      expect(plain(await store.get(record.tokenId))).toEqual(plain(record));
    });

    it("knows no unknown or malformed id", async () => {
      expect(await store.get(mintBearerToken().tokenId)).toBeUndefined();
      for (const id of ["", "tok_a.b", "tok_*", "tok_>", "a/b", "tok_ x"]) expect(await store.get(id), id).toBeUndefined();
      expect(await store.revoke("tok_a.b", 5)).toBeUndefined();
    });

    it("lists tokens ordered by id, strictly after a cursor, at most a limit", async () => {
      const records = await Promise.all(Array.from({ length: 7 }, async () => {
        const r = newRecord();
        await store.create(r);
        return r;
      }));
      const ids = records.map((r) => r.tokenId).sort();
      expect((await store.list(undefined, 100)).map((r) => r.tokenId)).toEqual(ids);
      expect((await store.list(undefined, 3)).map((r) => r.tokenId)).toEqual(ids.slice(0, 3));
      expect((await store.list(ids[2], 3)).map((r) => r.tokenId)).toEqual(ids.slice(3, 6));
      expect((await store.list(ids[6], 3)).map((r) => r.tokenId)).toEqual([]);
      expect(plain((await store.list(ids[0], 1))[0])).toEqual(plain(records.find((r) => r.tokenId === ids[1])));
    });

    it("revokes once: a second revoke keeps the first time; an unknown id is undefined", async () => {
      const record = newRecord();
      await store.create(record);
      expect((await store.revoke(record.tokenId, 5_000))?.revokeMs).toBe(5_000);
      expect((await store.revoke(record.tokenId, 9_000))?.revokeMs).toBe(5_000);
      expect((await store.get(record.tokenId))?.revokeMs).toBe(5_000);
      expect(await store.revoke(mintBearerToken().tokenId, 5_000)).toBeUndefined();
    });

    it("tells every revocation to the listeners before revoke returns, once; a listener that throws stops no other; unsubscribe ends it", async () => {
      const [r1, r2] = [newRecord(), newRecord()];
      await store.create(r1);
      await store.create(r2);
      const heard: string[] = [];
      store.onRevoked(() => {
        throw new Error("a faulty listener");
      });
      const stop = store.onRevoked((id) => heard.push(id));
      await store.revoke(r1.tokenId, 5_000);
      expect(heard).toEqual([r1.tokenId]);
      await store.revoke(r1.tokenId, 6_000);
      stop();
      await store.revoke(r2.tokenId, 7_000);
      // Long enough for a change feed to have told anything it would.
      await new Promise((r) => setTimeout(r, 100));
      expect(heard).toEqual([r1.tokenId]);
    });

    it("gives one signing key of 32 bytes, the same at every call", async () => {
      const [k1, k2] = await Promise.all([store.signingKey(), store.signingKey()]);
      expect(k1.length).toBe(32);
      expect(Buffer.from(k2).equals(Buffer.from(k1))).toBe(true);
      expect(Buffer.from(await store.signingKey()).equals(Buffer.from(k1))).toBe(true);
    });
  });
}

/**
 * What a store shared by several servers promises besides: `open(n)` gives `n` stores
 * (servers) over one fresh, empty shared storage.
 */
export function describeSharedTokenStoreContract(name: string, open: (n: number) => Promise<{ stores: TokenStore[]; close(): Promise<void> }>): void {
  describe(`TokenStore shared by several servers: ${name}`, () => {
    let fx: { stores: TokenStore[]; close(): Promise<void> } | undefined;
    afterEach(async () => {
      await fx?.close();
      fx = undefined;
    });

    it("a token created through one server is read, listed and revoked through the other", async () => {
      fx = await open(2);
      const [a, b] = fx.stores as [TokenStore, TokenStore];
      const record = newRecord();
      await a.create(record);
      expect(plain(await b.get(record.tokenId))).toEqual(plain(record));
      expect((await b.list(undefined, 100)).map((r) => r.tokenId)).toEqual([record.tokenId]);
      await expect(b.create({ ...record, hash: randomBytes(32) })).rejects.toThrow();
      expect((await b.revoke(record.tokenId, 5_000))?.revokeMs).toBe(5_000);
      expect((await a.revoke(record.tokenId, 9_000))?.revokeMs).toBe(5_000);
      expect((await a.get(record.tokenId))?.revokeMs).toBe(5_000);
    });

    it("a revocation through one server is told to the other's listeners, once", async () => {
      fx = await open(2);
      const [a, b] = fx.stores as [TokenStore, TokenStore];
      const [r1, r2] = [newRecord(), newRecord()];
      await a.create(r1);
      await a.create(r2);
      const heard: string[] = [];
      b.onRevoked((id) => heard.push(id));
      await a.revoke(r1.tokenId, 5_000);
      await b.revoke(r2.tokenId, 6_000);
      await eventually(() => heard.length === 2, "b hears both revocations");
      await a.revoke(r1.tokenId, 7_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(heard.sort()).toEqual([r1.tokenId, r2.tokenId].sort());
    });

    it("servers racing to create the signing key all get the same one, and so does one that comes later", async () => {
      fx = await open(4);
      const late = fx.stores.pop()!;
      const keys = await Promise.all(fx.stores.map((s) => s.signingKey()));
      const first = Buffer.from(keys[0]!);
      for (const key of keys) expect(Buffer.from(key).equals(first)).toBe(true);
      expect(Buffer.from(await late.signingKey()).equals(first)).toBe(true);
      fx.stores.push(late);
    });
  });
}
