import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { describe, expect, it } from "vitest";
import type { Db } from "../part.js";
import { tempDir } from "../testing/temp-dir.js";
import { sessionKey } from "./session-ref.js";
import { LevelSessionStorage } from "./level-session-storage.js";
import { LevelSessionStore } from "./level-session-store.js";
import { SessionLog } from "./session-log.js";
import { agent, describeSessionStoreContract, rejection, uniqueRef, userEvent } from "./session-store.contract.js";
import type { SessionWrite } from "./session-storage.js";

async function openDb(path: string): Promise<Db> {
  const db: Db = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: "view" });
  await db.open();
  return db;
}

describeSessionStoreContract("LevelDB", async () => {
  const dir = await tempDir("oma-store-");
  const db = await openDb(join(dir.path, "leveldb"));
  let now = Date.now();
  const store = new LevelSessionStore(db, { now: () => now });
  return {
    store,
    advance: (ms) => (now += ms),
    async close() {
      await store.close();
      await db.close();
      await dir.remove();
    },
  };
});

describeSessionStoreContract("LevelDB, cache bounded to 2 sessions", async () => {
  const dir = await tempDir("oma-store-");
  const db = await openDb(join(dir.path, "leveldb"));
  let now = Date.now();
  const store = new LevelSessionStore(db, { now: () => now, maxCachedSessions: 2 });
  return {
    store,
    advance: (ms) => (now += ms),
    async close() {
      await store.close();
      await db.close();
      await dir.remove();
    },
  };
});

describe("LevelSessionStore on disk", () => {
  it("SESS-3/SESS-5/SESS-10: events, heads, idempotency keys and epochs survive reopening the database", async () => {
    const dir = await tempDir("oma-store-");
    const path = join(dir.path, "leveldb");
    const id = uniqueRef();
    try {
      let db = await openDb(path);
      let store = new LevelSessionStore(db);
      await store.createSession({ ...id, labels: { a: "b" }, agent });
      const first = await store.append(id, [userEvent("one"), userEvent("two")], { idempotencyKey: "k" });
      const lease = await store.acquireLease(id, "h", 60_000);
      await store.releaseLease(id, Number(lease.epoch));
      await store.close();
      await db.close();

      db = await openDb(path);
      store = new LevelSessionStore(db);
      const s = await store.getSession(id);
      expect([s.headSeq, s.labels]).toEqual([2n, { a: "b" }]);
      const retry = await store.append(id, [userEvent("one"), userEvent("two")], { idempotencyKey: "k" });
      expect(retry.duplicate).toBe(true);
      expect(retry.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      await rejection(store.append(id, [userEvent("three")], { idempotencyKey: "k" }), "IDEMPOTENCY_KEY_REUSED");
      expect((await store.acquireLease(id, "h2", 60_000)).epoch).toBe(2n);
      await store.close();
      await db.close();
    } finally {
      await dir.remove();
    }
  });

  it("HARN-27: dispatch records survive reopening the database; ended ones stay gone", async () => {
    const dir = await tempDir("oma-store-");
    const path = join(dir.path, "leveldb");
    const [kept, ended] = [uniqueRef(), uniqueRef()];
    try {
      let db = await openDb(path);
      let store = new LevelSessionStore(db);
      for (const id of [kept, ended]) {
        await store.createSession({ ...id, labels: {}, agent });
        await store.append(id, [userEvent("go")]);
        await store.acquireLease(id, `hrn-${id.sessionId}`, 60_000, { dispatch: true });
      }
      await store.endDispatch(ended, `hrn-${ended.sessionId}`);
      await store.close();
      await db.close();

      db = await openDb(path);
      store = new LevelSessionStore(db);
      const { dispatches } = await store.listDispatches({ pageSize: 10 });
      expect(dispatches).toEqual([{ ref: kept, harnessId: `hrn-${kept.sessionId}`, epoch: 1, wakeSeq: 1, wakeTime: expect.any(Number) }]);
      await store.endDispatch(kept, `hrn-${kept.sessionId}`);
      expect((await store.listDispatches({ pageSize: 10 })).dispatches).toEqual([]);
      await store.close();
      await db.close();
    } finally {
      await dir.remove();
    }
  });

  it("SESS-1/SESS-14: the state written by a group of appends to one session is the last one's, also after reopening", async () => {
    const dir = await tempDir("oma-store-");
    const path = join(dir.path, "leveldb");
    const id = uniqueRef();
    try {
      let db = await openDb(path);
      let store = new LevelSessionStore(db);
      await store.createSession({ ...id, labels: {}, agent });
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(id, [userEvent(`${i}`)])));
      await store.close();
      await db.close();
      db = await openDb(path);
      store = new LevelSessionStore(db);
      expect((await store.getSession(id)).headSeq).toBe(50n);
      expect((await store.append(id, [userEvent("next")])).events[0]!.seq).toBe(51n);
      await store.close();
      await db.close();
    } finally {
      await dir.remove();
    }
  });

  it("SESS-5: concurrent appends share synced batches (group commit): fewer writes than appends", async () => {
    const dir = await tempDir("oma-store-");
    const db = await openDb(join(dir.path, "leveldb"));
    const storage = new LevelSessionStorage(db);
    const batches: number[] = [];
    const write = storage.write.bind(storage);
    storage.write = async (writes: readonly SessionWrite[]) => {
      batches.push(writes.reduce((n, w) => n + w.events.length, 0));
      return write(writes);
    };
    const store = new SessionLog(storage);
    try {
      const ids = await Promise.all(Array.from({ length: 4 }, () => store.createSession({ ...uniqueRef(), labels: {}, agent }).then((s) => ({ tenant: s.tenant, sessionId: s.sessionId }))));
      batches.length = 0;
      await Promise.all(ids.flatMap((id) => Array.from({ length: 16 }, (_, i) => store.append(id, [userEvent(`${i}`)]))));
      expect(batches.reduce((a, b) => a + b, 0)).toBe(64);
      expect(batches.length).toBeLessThan(64);
      expect(Math.max(...batches)).toBeGreaterThan(1);
    } finally {
      await store.close();
      await db.close();
      await dir.remove();
    }
  });

  it("WIRE-6: a failed synced write is not acknowledged and the store accepts nothing after it", async () => {
    const dir = await tempDir("oma-store-");
    const db = await openDb(join(dir.path, "leveldb"));
    const storage = new LevelSessionStorage(db);
    const store = new SessionLog(storage);
    try {
      const ref = uniqueRef();
      await store.createSession({ ...ref, labels: {}, agent });
      storage.write = async () => {
        throw new Error("disk full");
      };
      await expect(store.append(ref, [userEvent("lost")])).rejects.toThrow("disk full");
      await expect(store.append(ref, [userEvent("after")])).rejects.toThrow();
      expect((await storage.readEvents(sessionKey(ref), 0, 100, 100, false)).length).toBe(0);
    } finally {
      await store.close();
      await db.close();
      await dir.remove();
    }
  });
});
