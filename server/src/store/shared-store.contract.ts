import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agent, rejection, statusEvent, uniqueRef, userEvent } from "./session-store.contract.js";
import type { LogSignal, SessionRef, SessionStore } from "./session-store.js";

/** Two stores (two servers) over one shared storage, with one clock the test moves. */
export interface SharedFixture {
  readonly a: SessionStore;
  readonly b: SessionStore;
  advance(ms: number): void;
  close(): Promise<void>;
}

const seqs = (events: readonly { seq: bigint }[]) => events.map((e) => Number(e.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Resolves once `check` holds; a watcher on another server hears of a commit a moment later. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check(), what).toBe(true);
}

/**
 * The rules of the log hold across two SessionLog engines writing one shared storage:
 * what a second server sees and may do after the first one wrote.
 */
export function describeSharedStoreContract(name: string, open: () => Promise<SharedFixture>): void {
  describe(`SessionStore on a shared storage, two servers: ${name}`, () => {
    let fx: SharedFixture;
    let a: SessionStore;
    let b: SessionStore;
    beforeEach(async () => {
      fx = await open();
      ({ a, b } = fx);
    });
    afterEach(async () => {
      await fx.close();
    });
    const newSession = async (): Promise<SessionRef> => {
      const ref = uniqueRef();
      await a.createSession({ ...ref, labels: {}, agent });
      return ref;
    };
    const all = async (store: SessionStore, id: SessionRef) => (await store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 1000, order: "asc" })).events;

    it("SESS-1: concurrent appends through both servers get every seq exactly once; each server reads the other's", async () => {
      const id = await newSession();
      await b.getSession(id);
      const results = await Promise.all(range(1, 40).map((i) => (i % 2 ? a : b).append(id, [userEvent(`${i}`)])));
      expect(results.flatMap((r) => seqs(r.events)).sort((x, y) => x - y)).toEqual(range(1, 40));
      expect(seqs(await all(a, id))).toEqual(range(1, 40));
      expect(seqs(await all(b, id))).toEqual(range(1, 40));
      expect((await b.getSession(id)).headSeq).toBe(40n);
      expect((await a.getSession(id)).headSeq).toBe(40n);
    });

    it("SESS-2/SESS-9: a second server sees the first's head and sessions; SESSION_EXISTS across servers", async () => {
      const id = await newSession();
      await rejection(b.createSession({ ...id, labels: {}, agent }), "SESSION_EXISTS");
      await b.getSession(id);
      await a.append(id, [userEvent("a")], { expectedHeadSeq: 0 });
      const err = await rejection(b.append(id, [userEvent("b")], { expectedHeadSeq: 0 }), "HEAD_SEQ_MISMATCH");
      expect(err.metadata).toMatchObject({ head_seq: "1" });
      await b.append(id, [userEvent("b")], { expectedHeadSeq: 1 });
      expect(seqs(await all(a, id))).toEqual([1, 2]);
    });

    it("SESS-10: a lease taken on one server fences appends on the other; epochs grow across servers", async () => {
      const id = await newSession();
      await b.getSession(id);
      const l1 = await a.acquireLease(id, "brain-a", 5000);
      await rejection(b.acquireLease(id, "brain-b", 5000), "LEASE_HELD");
      await b.append(id, [userEvent("by a through b")], { leaseEpoch: Number(l1.epoch) });
      await a.releaseLease(id, Number(l1.epoch));
      const l2 = await b.acquireLease(id, "brain-b", 5000);
      expect(l2.epoch).toBe(2n);
      await rejection(a.append(id, [userEvent("stale")], { leaseEpoch: 1 }), "LEASE_LOST");
      await rejection(a.renewLease(id, 1, 5000), "LEASE_LOST");
      await a.renewLease(id, 2, 5000);
      expect(seqs(await all(b, id))).toEqual([1]);
    });

    it("SESS-3: an idempotency key written through one server is a duplicate through the other, also when both race", async () => {
      const id = await newSession();
      const first = await a.append(id, [userEvent("x")], { idempotencyKey: "k" });
      const retry = await b.append(id, [userEvent("x")], { idempotencyKey: "k" });
      expect(retry.duplicate).toBe(true);
      expect(retry.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      await rejection(b.append(id, [userEvent("other")], { idempotencyKey: "k" }), "IDEMPOTENCY_KEY_REUSED");
      const raced = await Promise.all(range(1, 10).map((i) => (i % 2 ? a : b).append(id, [userEvent("same")], { idempotencyKey: "race" })));
      expect(raced.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(raced.map((r) => r.events[0]!.id)).size).toBe(1);
      expect(seqs(await all(a, id))).toEqual([1, 2]);
    });

    it("SESS-12: a subscriber on one server hears every commit of the other, in order, once; and its deletion", async () => {
      const id = await newSession();
      await a.append(id, [userEvent("before")]);
      const heard: number[] = [];
      const signals: LogSignal["kind"][] = [];
      const sub = await b.subscribe(id, (s) => {
        signals.push(s.kind);
        if (s.kind === "events") heard.push(...seqs(s.events));
      });
      expect(sub.headSeq).toBe(1);
      await Promise.all(range(1, 20).map((i) => (i % 3 ? a : b).append(id, [userEvent(`${i}`)])));
      await eventually(() => heard.length >= 20, "the other server's commits reach the subscriber");
      expect(heard).toEqual(range(2, 21));
      await a.append(id, [userEvent("end")]);
      await eventually(() => heard.length === 21, "one more");
      await a.deleteSession(id);
      await eventually(() => signals.includes("deleted"), "the deletion reaches the subscriber");
      await rejection(b.getSession(id), "SESSION_NOT_FOUND");
      sub.unsubscribe();
    });

    it("SESS-9: a session deleted and created again through one server is the new one on the other: labels, agent, log (cached there, watched there or not)", async () => {
      const quiet = uniqueRef();
      const watched = uniqueRef();
      for (const id of [quiet, watched]) {
        await a.createSession({ ...id, labels: { life: "first" }, agent });
        await a.append(id, [userEvent("first life")]);
        expect((await b.getSession(id)).labels).toEqual({ life: "first" });
      }
      const signals: LogSignal["kind"][] = [];
      const sub = await b.subscribe(watched, (s) => signals.push(s.kind));
      const second = { ...agent, model: `${agent.model}-second` };
      for (const id of [quiet, watched]) {
        await a.deleteSession(id);
        await a.createSession({ ...id, labels: { life: "second" }, agent: second });
      }
      await eventually(() => signals.includes("deleted"), "the deletion reaches the subscriber");
      for (const id of [quiet, watched]) {
        const seen = await b.getSession(id);
        expect(seen.labels, id.sessionId).toEqual({ life: "second" });
        expect(seen.agent?.model, id.sessionId).toBe(second.model);
        expect(seen.headSeq, id.sessionId).toBe(0n);
        expect((await b.listSessions({ tenant: id.tenant, labels: { life: "second" }, status: SessionStatus.UNSPECIFIED, pageSize: 100 })).sessions.map((s) => s.sessionId)).toContain(id.sessionId);
        await b.append(id, [userEvent("second life")]);
        expect(seqs(await all(a, id)), id.sessionId).toEqual([1]);
      }
      sub.unsubscribe();
    });

    it("SESS-8/HARN-27: status and dispatch records written on one server are seen and settled on the other", async () => {
      const id = await newSession();
      await b.getSession(id);
      const lease = await a.acquireLease(id, "hrn-a", 5000, { dispatch: true });
      const listed = async (store: SessionStore) => {
        const out: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listDispatches({ pageSize: 50, cursor });
          out.push(...page.dispatches.filter((d) => d.ref.sessionId === id.sessionId).map((d) => `${d.harnessId}:${d.epoch}`));
          cursor = page.nextCursor;
        } while (cursor);
        return out;
      };
      expect(await listed(b)).toEqual([`hrn-a:${lease.epoch}`]);
      await b.endDispatch(id, "hrn-a");
      expect(await listed(a)).toEqual([]);
      await a.append(id, [userEvent("x")]);
      await b.append(id, [userEvent("y")]);
      await a.append(id, [statusEvent(SessionStatus.TERMINATED)]);
      await rejection(b.append(id, [userEvent("late")]), "SESSION_TERMINATED");
      expect((await b.getSession(id)).status).toBe(SessionStatus.TERMINATED);
    });

    it("HARN-1: two servers racing to claim one dispatch record: exactly one wins, both then see its claim; only its holder gives it back", async () => {
      const id = await newSession();
      await b.getSession(id);
      await a.acquireLease(id, "hrn-race", 5000, { dispatch: true });
      const claims = await Promise.all([a.claimDispatch(id, "hrn-race", undefined, "srv-a"), b.claimDispatch(id, "hrn-race", undefined, "srv-b")]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = claims[0] ? "srv-a" : "srv-b";
      const claimOf = async (store: SessionStore) => (await store.listDispatches({ pageSize: 1000 })).dispatches.find((d) => d.ref.sessionId === id.sessionId)?.claimedBy;
      expect([await claimOf(a), await claimOf(b)]).toEqual([winner, winner]);
      const loser = winner === "srv-a" ? "srv-b" : "srv-a";
      expect(await (winner === "srv-a" ? b : a).claimDispatch(id, "hrn-race", loser, undefined)).toBe(false);
      expect(await (winner === "srv-a" ? b : a).claimDispatch(id, "hrn-race", winner, undefined)).toBe(true);
      expect(await claimOf(a)).toBeUndefined();
    });
  });
}
