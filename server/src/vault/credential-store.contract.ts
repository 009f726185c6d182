import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CredentialStore, StoredCredential } from "./credential-store.js";

/** A store under test, and how to close it. */
export interface CredentialStoreFixture {
  readonly store: CredentialStore;
  close(): Promise<void>;
}

const sealed = { iv: "aXY=", data: "ZGF0YQ==", tag: "dGFn" };

export function storedCredential(tenant: string, credentialId: string, displayName = ""): StoredCredential {
  return { tenant, credentialId, displayName, target: { kind: "bearer", urlPrefix: "https://mcp.example/" }, createMs: 1, updateMs: 1, sealed };
}

/** The CredentialStore contract: every implementation runs this same suite. */
export function describeCredentialStoreContract(name: string, open: () => Promise<CredentialStoreFixture>): void {
  describe(`CredentialStore contract: ${name}`, () => {
    let fx: CredentialStoreFixture;
    let tenant: string;
    beforeEach(async () => {
      fx = await open();
      tenant = `t-${randomUUID()}`;
    });
    afterEach(async () => fx.close());

    it("insert stores a credential once; a taken id is 'exists' and changes nothing", async () => {
      expect(await fx.store.insert(storedCredential(tenant, "a", "first"), 10)).toBe("inserted");
      expect(await fx.store.insert(storedCredential(tenant, "a", "second"), 10)).toBe("exists");
      expect((await fx.store.get(tenant, "a"))?.displayName).toBe("first");
    });

    it("ids are per tenant: the same id in two tenants is two credentials, and neither sees the other", async () => {
      const other = `${tenant}-other`;
      await fx.store.insert(storedCredential(tenant, "a", "mine"), 10);
      expect(await fx.store.get(other, "a")).toBeUndefined();
      expect(await fx.store.insert(storedCredential(other, "a", "theirs"), 10)).toBe("inserted");
      expect((await fx.store.get(tenant, "a"))?.displayName).toBe("mine");
      expect((await fx.store.list(other, undefined, 10)).map((c) => c.displayName)).toEqual(["theirs"]);
      expect(await fx.store.remove(other, "a")).toBe(true);
      expect((await fx.store.get(tenant, "a"))?.displayName).toBe("mine");
    });

    it("a tenant holds at most maxPerTenant credentials; other tenants are not counted", async () => {
      for (const id of ["a", "b"]) expect(await fx.store.insert(storedCredential(tenant, id), 2)).toBe("inserted");
      expect(await fx.store.insert(storedCredential(tenant, "c"), 2)).toBe("full");
      expect(await fx.store.get(tenant, "c")).toBeUndefined();
      expect(await fx.store.insert(storedCredential(`${tenant}x`, "c"), 2)).toBe("inserted");
    });

    it("concurrent inserts of one id: exactly one wins", async () => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => fx.store.insert(storedCredential(tenant, "race", `n${i}`), 100)));
      expect(outcomes.filter((o) => o === "inserted")).toHaveLength(1);
    });

    it("replace needs an existing credential; remove deletes it once", async () => {
      expect(await fx.store.replace(storedCredential(tenant, "a", "x"))).toBe(false);
      expect(await fx.store.get(tenant, "a")).toBeUndefined();
      await fx.store.insert(storedCredential(tenant, "a", "old"), 10);
      expect(await fx.store.replace(storedCredential(tenant, "a", "new"))).toBe(true);
      expect((await fx.store.get(tenant, "a"))?.displayName).toBe("new");
      expect(await fx.store.remove(tenant, "a")).toBe(true);
      expect(await fx.store.remove(tenant, "a")).toBe(false);
    });

    it("list pages a tenant's credentials by id, every one exactly once", async () => {
      const ids = ["b", "a", "d", "c", "e"];
      for (const id of ids) await fx.store.insert(storedCredential(tenant, id), 10);
      await fx.store.insert(storedCredential(`${tenant}.z`, "zz"), 10);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await fx.store.list(tenant, after, 2);
        seen.push(...page.map((c) => c.credentialId));
        if (page.length < 2) break;
        after = page.at(-1)!.credentialId;
      }
      expect(seen).toEqual(["a", "b", "c", "d", "e"]);
    });

    it("bindKey records the first key check and recognises only that one", async () => {
      const k1 = new Uint8Array(32).fill(1);
      const k2 = new Uint8Array(32).fill(2);
      expect(await fx.store.bindKey(k1)).toBe(true);
      expect(await fx.store.bindKey(k1)).toBe(true);
      expect(await fx.store.bindKey(k2)).toBe(false);
    });
  });
}

/** Rules of a store several servers share: each instance is one server's view of the same store. */
export function describeSharedCredentialStoreContract(name: string, open: (n: number) => Promise<{ stores: CredentialStore[]; close(): Promise<void> }>): void {
  describe(`CredentialStore shared by several servers: ${name}`, () => {
    let fx: { stores: CredentialStore[]; close(): Promise<void> } | undefined;
    const tenant = `t-${randomUUID()}`;
    afterEach(async () => {
      await fx?.close();
      fx = undefined;
    });

    it("a credential created through one server is read, listed, replaced and removed through the other", async () => {
      fx = await open(2);
      const [a, b] = fx.stores as [CredentialStore, CredentialStore];
      expect(await a.insert(storedCredential(tenant, "a", "first"), 10)).toBe("inserted");
      expect((await b.get(tenant, "a"))?.displayName).toBe("first");
      expect(await b.insert(storedCredential(tenant, "a", "second"), 10)).toBe("exists");
      expect((await b.list(tenant, undefined, 10)).map((c) => c.displayName)).toEqual(["first"]);
      expect(await b.replace(storedCredential(tenant, "a", "replaced"))).toBe(true);
      expect((await a.get(tenant, "a"))?.displayName).toBe("replaced");
      expect(await a.remove(tenant, "a")).toBe(true);
      expect(await b.get(tenant, "a")).toBeUndefined();
      expect(await b.remove(tenant, "a")).toBe(false);
      expect(await b.insert(storedCredential(tenant, "a", "again"), 10)).toBe("inserted");
      expect((await a.get(tenant, "a"))?.displayName).toBe("again");
    });

    it("servers racing: one id is inserted once, and the tenant's bound holds across them", async () => {
      fx = await open(3);
      const stores = fx.stores;
      const same = await Promise.all(stores.flatMap((s, i) => [0, 1].map((j) => s.insert(storedCredential(tenant, "race", `s${i}-${j}`), 100))));
      expect(same.filter((o) => o === "inserted")).toHaveLength(1);
      const bounded = `${tenant}-bounded`;
      const outcomes = await Promise.all(stores.flatMap((s, i) => [0, 1, 2].map((j) => s.insert(storedCredential(bounded, `c${i}${j}`), 4))));
      expect(outcomes.filter((o) => o === "inserted")).toHaveLength(4);
      expect(await stores[0]!.list(bounded, undefined, 100)).toHaveLength(4);
    });

    it("servers racing to bind the vault key: the first key wins on every server, another key is refused", async () => {
      fx = await open(3);
      const keys = fx.stores.map((_, i) => new Uint8Array(32).fill(i + 1));
      const bound = await Promise.all(fx.stores.map((s, i) => s.bindKey(keys[i]!)));
      expect(bound.filter(Boolean)).toHaveLength(1);
      const winner = keys[bound.indexOf(true)]!;
      for (const s of fx.stores) {
        expect(await s.bindKey(winner)).toBe(true);
        expect(await s.bindKey(new Uint8Array(32).fill(9))).toBe(false);
      }
    });
  });
}
