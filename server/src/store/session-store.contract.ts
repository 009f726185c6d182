import { create } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { AgentConfigSchema, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OmaError } from "../errors/oma-error.js";
import type { LogSignal, SessionRef, SessionStore } from "./session-store.js";

/** A store under test with a clock the test moves. */
export interface StoreFixture {
  readonly store: SessionStore;
  advance(ms: number): void;
  close(): Promise<void>;
}

export const userEvent = (text: string): Event =>
  create(EventSchema, { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } } });
export const customEvent = (type: string): Event => create(EventSchema, { payload: { case: "custom", value: { type } } });
export const statusEvent = (status: SessionStatus, stopReason = StopReason.UNSPECIFIED): Event =>
  create(EventSchema, { payload: { case: "statusChanged", value: { status, stopReason } } });

export const agent = create(AgentConfigSchema, { model: "claude-test" });
export const uniqueId = (prefix = "s") => `${prefix}-${randomUUID()}`;
/** A fresh session of the contract's tenant (or of another one). */
export const uniqueRef = (prefix = "s", tenant = "t"): SessionRef => ({ tenant, sessionId: uniqueId(prefix) });
const seqs = (events: readonly Event[]) => events.map((e) => Number(e.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Rejects with an OmaError of this reason; returns it for metadata checks. */
export async function rejection(p: Promise<unknown>, reason: string): Promise<OmaError> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as OmaError | undefined;
  expect(err, `expected ${reason}`).toBeDefined();
  expect(err!.reason).toBe(reason);
  return err!;
}

/** The SessionStore contract: every implementation runs this same suite. */
export function describeSessionStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: SessionStore;
    beforeEach(async () => {
      fx = await open();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.close();
    });
    const newSession = async (labels: Record<string, string> = {}, tenant = "t"): Promise<SessionRef> => {
      const ref = uniqueRef("s", tenant);
      await store.createSession({ ...ref, labels, agent });
      return ref;
    };
    const all = async (id: SessionRef) => (await store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 1_000_000, order: "asc" })).events;

    it("SESS-1/SESS-9: creates IDLE sessions with head 0; a taken id is SESSION_EXISTS; unknown ids SESSION_NOT_FOUND", async () => {
      const id = await newSession({ team: "a" });
      const s = await store.getSession(id);
      expect(s.status).toBe(SessionStatus.IDLE);
      expect(s.headSeq).toBe(0n);
      expect(s.labels).toEqual({ team: "a" });
      expect(s.agent?.model).toBe("claude-test");
      await rejection(store.createSession({ ...id, labels: {}, agent }), "SESSION_EXISTS");
      const unknown = uniqueRef("missing");
      await rejection(store.getSession(unknown), "SESSION_NOT_FOUND");
      await rejection(store.append(unknown, [userEvent("x")]), "SESSION_NOT_FOUND");
      await rejection(store.readEvents(unknown, { afterSeq: 0, beforeSeq: 0, limit: 10, order: "asc" }), "SESSION_NOT_FOUND");
      await rejection(store.acquireLease(unknown, "h", 1000), "SESSION_NOT_FOUND");
      await rejection(store.deleteSession(unknown), "SESSION_NOT_FOUND");
    });

    it("SESS-1/SESS-4: seqs are 1, 2, 3 … gapless, batches consecutive, ids and times assigned", async () => {
      const id = await newSession();
      const a = await store.append(id, [userEvent("one")]);
      const b = await store.append(id, [customEvent("t"), customEvent("u"), customEvent("v")]);
      expect(seqs(a.events)).toEqual([1]);
      expect(seqs(b.events)).toEqual([2, 3, 4]);
      const log = await all(id);
      expect(seqs(log)).toEqual([1, 2, 3, 4]);
      expect(new Set(log.map((e) => e.id)).size).toBe(4);
      expect(log.every((e) => e.id.startsWith("evt_") && e.createTime !== undefined)).toBe(true);
      expect((await store.getSession(id)).headSeq).toBe(4n);
    });

    it("SESS-1: concurrent appends within and across sessions get every seq exactly once", async () => {
      const ids = await Promise.all([newSession(), newSession(), newSession()]);
      const results = await Promise.all(ids.flatMap((id) => range(1, 60).map((i) => store.append(id, [userEvent(`${id}:${i}`)]))));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      for (const id of ids) {
        const log = await all(id);
        expect(seqs(log)).toEqual(range(1, 60));
        const texts = log.map((e) => (e.payload.case === "userMessage" ? e.payload.value.content[0]?.block.value : undefined));
        expect(new Set(texts.map((t) => JSON.stringify(t))).size).toBe(60);
      }
    });

    it("SESS-11: slices after/before a seq, ascending from the low end, descending from the high end", async () => {
      const id = await newSession();
      await store.append(id, range(1, 20).map((i) => customEvent(`e${i}`)));
      const read = (afterSeq: number, beforeSeq: number, limit: number, order: "asc" | "desc") => store.readEvents(id, { afterSeq, beforeSeq, limit, order });
      expect(seqs((await read(5, 0, 3, "asc")).events)).toEqual([6, 7, 8]);
      expect(seqs((await read(0, 10, 3, "desc")).events)).toEqual([9, 8, 7]);
      expect(seqs((await read(0, 0, 4, "desc")).events)).toEqual([20, 19, 18, 17]);
      expect(seqs((await read(17, 0, 100, "asc")).events)).toEqual([18, 19, 20]);
      expect(seqs((await read(3, 6, 100, "desc")).events)).toEqual([5, 4]);
      expect((await read(20, 0, 10, "asc")).events).toEqual([]);
      expect((await read(5, 6, 10, "asc")).events).toEqual([]);
      expect((await read(0, 0, 1, "asc")).headSeq).toBe(20);
      const err = await rejection(read(21, 0, 10, "asc"), "SEQ_OUT_OF_RANGE");
      expect(err.metadata["head_seq"]).toBe("20");
    });

    it("SESS-2: expected_head_seq appends only at that head; otherwise HEAD_SEQ_MISMATCH and nothing is written", async () => {
      const id = await newSession();
      await store.append(id, [userEvent("a")], { expectedHeadSeq: 0 });
      const err = await rejection(store.append(id, [userEvent("b")], { expectedHeadSeq: 0 }), "HEAD_SEQ_MISMATCH");
      expect(err.metadata).toMatchObject({ head_seq: "1", expected_head_seq: "0" });
      expect(seqs(await all(id))).toEqual([1]);
      await store.append(id, [userEvent("b")], { expectedHeadSeq: 1 });
      expect(seqs(await all(id))).toEqual([1, 2]);
    });

    it("SESS-3: a retried key returns the original events and writes nothing; other content is IDEMPOTENCY_KEY_REUSED", async () => {
      const id = await newSession();
      const first = await store.append(id, [userEvent("a"), userEvent("b")], { idempotencyKey: "k1" });
      await store.append(id, [userEvent("c")]);
      const again = await store.append(id, [userEvent("a"), userEvent("b")], { idempotencyKey: "k1" });
      expect(again.duplicate).toBe(true);
      expect(again.events.map((e) => [e.seq, e.id])).toEqual(first.events.map((e) => [e.seq, e.id]));
      const reused = await rejection(store.append(id, [userEvent("other")], { idempotencyKey: "k1" }), "IDEMPOTENCY_KEY_REUSED");
      expect(reused.metadata).toMatchObject({ idempotency_key: "k1", original_seq: "1" });
      expect(seqs(await all(id))).toEqual([1, 2, 3]);
      // Same key in another session is another key.
      const other = await newSession();
      expect((await store.append(other, [userEvent("zzz")], { idempotencyKey: "k1" })).duplicate).toBe(false);
    });

    it("SESS-3: concurrent appends with one key write once; every caller gets the same events", async () => {
      const id = await newSession();
      const results = await Promise.all(range(1, 20).map(() => store.append(id, [userEvent("same")], { idempotencyKey: "shared" })));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(results.map((r) => r.events[0]!.id)).size).toBe(1);
      expect(seqs(await all(id))).toEqual([1]);
    });

    it("SESS-3: duplicates are detected before the head and lease checks", async () => {
      const id = await newSession();
      const lease = await store.acquireLease(id, "brain-1", 10_000);
      const epoch = Number(lease.epoch);
      const first = await store.append(id, [userEvent("a")], { idempotencyKey: "k", expectedHeadSeq: 0, leaseEpoch: epoch });
      await store.releaseLease(id, epoch);
      await store.acquireLease(id, "brain-2", 10_000);
      await store.append(id, [userEvent("b")]);
      const retry = await store.append(id, [userEvent("a")], { idempotencyKey: "k", expectedHeadSeq: 0, leaseEpoch: epoch });
      expect(retry.duplicate).toBe(true);
      expect(retry.events[0]!.id).toBe(first.events[0]!.id);
    });

    it("SESS-8/SESS-14: status follows the last status_changed; a terminated session accepts no events or leases", async () => {
      const id = await newSession();
      await store.append(id, [statusEvent(SessionStatus.RUNNING)]);
      expect((await store.getSession(id)).status).toBe(SessionStatus.RUNNING);
      await store.append(id, [statusEvent(SessionStatus.IDLE, StopReason.END_TURN), userEvent("x")]);
      const idle = await store.getSession(id);
      expect([idle.status, idle.stopReason]).toEqual([SessionStatus.IDLE, StopReason.END_TURN]);
      await store.append(id, [statusEvent(SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT)], { idempotencyKey: "end" });
      await rejection(store.append(id, [userEvent("late")]), "SESSION_TERMINATED");
      await rejection(store.acquireLease(id, "h", 5000), "SESSION_TERMINATED");
      // The retry of the terminating append is still answered (SESS-3 before SESS-8).
      expect((await store.append(id, [statusEvent(SessionStatus.TERMINATED, StopReason.TERMINATED_BY_CLIENT)], { idempotencyKey: "end" })).duplicate).toBe(true);
      expect(seqs(await all(id))).toEqual([1, 2, 3, 4]);
      const other = await newSession();
      await rejection(store.append(other, [statusEvent(SessionStatus.TERMINATED), userEvent("after")]), "SESSION_TERMINATED");
      expect(await all(other)).toEqual([]);
    });

    it("SESS-10/SESS-15/SESS-17: epochs grow; one live lease; stale epochs are LEASE_LOST and write nothing", async () => {
      const id = await newSession();
      const l1 = await store.acquireLease(id, "brain-1", 5000);
      expect(l1.epoch).toBe(1n);
      expect((await store.getSession(id)).lease?.epoch).toBe(1n);
      const held = await rejection(store.acquireLease(id, "brain-2", 5000), "LEASE_HELD");
      expect(held.metadata).toMatchObject({ holder: "brain-1", epoch: "1" });
      await store.append(id, [userEvent("by 1")], { leaseEpoch: 1 });
      const renewed = await store.renewLease(id, 1, 5000);
      expect(renewed.epoch).toBe(1n);
      fx.advance(5001);
      expect((await store.getSession(id)).lease).toBeUndefined();
      const expired = await rejection(store.append(id, [userEvent("expired")], { leaseEpoch: 1 }), "LEASE_LOST");
      expect(expired.metadata).toMatchObject({ lease_epoch: "1", current_epoch: "0" });
      await rejection(store.renewLease(id, 1, 5000), "LEASE_LOST");
      const l2 = await store.acquireLease(id, "brain-2", 5000);
      expect(l2.epoch).toBe(2n);
      const lost = await rejection(store.append(id, [userEvent("stale")], { leaseEpoch: 1 }), "LEASE_LOST");
      expect(lost.metadata).toMatchObject({ lease_epoch: "1", current_epoch: "2" });
      await rejection(store.releaseLease(id, 1), "LEASE_LOST");
      await rejection(store.renewLease(id, 7, 5000), "LEASE_LOST");
      await store.releaseLease(id, 2);
      await store.releaseLease(id, 2);
      expect((await store.getSession(id)).lease).toBeUndefined();
      await rejection(store.append(id, [userEvent("released")], { leaseEpoch: 2 }), "LEASE_LOST");
      expect((await store.acquireLease(id, "brain-3", 5000)).epoch).toBe(3n);
      expect(seqs(await all(id))).toEqual([1]);
    });

    it("SESS-19: delete removes log, keys and lease; the id can be created again and epochs still grow", async () => {
      const id = await newSession();
      await store.append(id, [userEvent("a")], { idempotencyKey: "k" });
      await store.acquireLease(id, "h", 5000);
      const signals: LogSignal["kind"][] = [];
      await store.subscribe(id, (s) => signals.push(s.kind));
      await store.deleteSession(id);
      expect(signals).toEqual(["deleted"]);
      await rejection(store.getSession(id), "SESSION_NOT_FOUND");
      await rejection(store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 1, order: "asc" }), "SESSION_NOT_FOUND");
      await store.createSession({ ...id, labels: {}, agent });
      expect(await all(id)).toEqual([]);
      const s = await store.getSession(id);
      expect([s.headSeq, s.lease]).toEqual([0n, undefined]);
      expect((await store.append(id, [userEvent("other")], { idempotencyKey: "k" })).duplicate).toBe(false);
      expect((await store.acquireLease(id, "h", 5000)).epoch).toBe(2n);
    });

    it("HARN-27: a dispatched lease and its record are written together; a failed acquisition writes neither", async () => {
      const id = await newSession();
      await store.append(id, [userEvent("a"), userEvent("b")]);
      const mine = async () => {
        const found = [];
        let cursor: string | undefined;
        do {
          const page = await store.listDispatches({ pageSize: 2, cursor });
          found.push(...page.dispatches.filter((d) => d.ref.sessionId === id.sessionId && d.ref.tenant === id.tenant));
          cursor = page.nextCursor;
        } while (cursor);
        return found;
      };
      expect(await mine()).toEqual([]);
      const lease = await store.acquireLease(id, "hrn-1", 5000, { dispatch: true });
      expect(await mine()).toEqual([{ ref: id, harnessId: "hrn-1", epoch: Number(lease.epoch), wakeSeq: 2, wakeTime: expect.any(Number) }]);
      await rejection(store.acquireLease(id, "hrn-2", 5000, { dispatch: true }), "LEASE_HELD");
      expect((await mine()).map((d) => d.harnessId)).toEqual(["hrn-1"]);
      // A lease taken without dispatch (a client's own brain) leaves the record alone.
      await store.releaseLease(id, Number(lease.epoch));
      const own = await store.acquireLease(id, "client", 5000);
      expect((await mine()).map((d) => d.harnessId)).toEqual(["hrn-1"]);
      await store.releaseLease(id, Number(own.epoch));
      await store.append(id, [userEvent("c")]);
      const next = await store.acquireLease(id, "hrn-3", 5000, { dispatch: true });
      expect(await mine()).toEqual([{ ref: id, harnessId: "hrn-3", epoch: Number(next.epoch), wakeSeq: 3, wakeTime: expect.any(Number) }]);
    });

    it("HARN-27: endDispatch removes only the record of that harness; records go with their session; tenants are apart", async () => {
      // Two tenants, one id: two sessions, two records.
      const ids = [await newSession(), await newSession(), await newSession()];
      const twin = { tenant: "other", sessionId: ids[0]!.sessionId };
      await store.createSession({ ...twin, labels: {}, agent });
      await store.acquireLease(twin, "hrn-twin", 5000, { dispatch: true });
      for (const [i, id] of ids.entries()) await store.acquireLease(id, `hrn-${i}`, 5000, { dispatch: true });
      const listed = async () => {
        const found: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listDispatches({ pageSize: 1, cursor });
          expect(page.dispatches.length).toBeLessThanOrEqual(1);
          found.push(...page.dispatches.filter((d) => ids.some((r) => r.sessionId === d.ref.sessionId)).map((d) => `${d.ref.tenant}/${d.ref.sessionId}:${d.harnessId}`));
          cursor = page.nextCursor;
        } while (cursor);
        return found;
      };
      const entry = (ref: SessionRef, harnessId: string) => `${ref.tenant}/${ref.sessionId}:${harnessId}`;
      const all = [...ids.map((id, i) => entry(id, `hrn-${i}`)), entry(twin, "hrn-twin")].sort();
      expect(await listed()).toEqual(all);
      await store.endDispatch(ids[0]!, "hrn-other");
      await store.endDispatch(ids[0]!, "hrn-twin");
      expect(await listed()).toEqual(all);
      await store.endDispatch(ids[0]!, "hrn-0");
      await store.endDispatch(ids[0]!, "hrn-0");
      await store.deleteSession(ids[1]!);
      await store.endDispatch(ids[1]!, "hrn-1");
      expect(await listed()).toEqual([entry(ids[2]!, "hrn-2"), entry(twin, "hrn-twin")].sort());
      await store.createSession({ ...ids[1]!, labels: {}, agent });
      expect(await listed()).toEqual([entry(ids[2]!, "hrn-2"), entry(twin, "hrn-twin")].sort());
    });

    it("HARN-1: claimDispatch sets the claim only from the claim it names, only for the record's harness, and the record keeps it", async () => {
      const id = await newSession();
      expect(await store.claimDispatch(id, "hrn-none", undefined, "srv-1")).toBe(false);
      await store.acquireLease(id, "hrn-c", 5000, { dispatch: true });
      const claim = async () => (await store.listDispatches({ pageSize: 1000 })).dispatches.find((d) => d.ref.sessionId === id.sessionId)?.claimedBy;
      expect(await claim()).toBeUndefined();
      expect(await store.claimDispatch(id, "hrn-other", undefined, "srv-1")).toBe(false);
      expect(await store.claimDispatch(id, "hrn-c", undefined, "srv-1")).toBe(true);
      expect(await store.claimDispatch(id, "hrn-c", undefined, "srv-1")).toBe(true);
      expect(await store.claimDispatch(id, "hrn-c", undefined, "srv-2")).toBe(false);
      expect(await claim()).toBe("srv-1");
      expect(await store.claimDispatch(id, "hrn-c", "srv-1", undefined)).toBe(true);
      expect(await claim()).toBeUndefined();
      await store.endDispatch(id, "hrn-c");
      expect(await store.claimDispatch(id, "hrn-c", undefined, "srv-1")).toBe(false);
    });

    it("SESS-18: lists newest first, filtered by status and labels, every match exactly once across pages", async () => {
      const tag = randomUUID();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await newSession({ run: tag, parity: i % 2 ? "odd" : "even" })).sessionId);
      const at = (i: number): SessionRef => ({ tenant: "t", sessionId: ids[i]! });
      await store.append(at(2), [statusEvent(SessionStatus.RUNNING)]);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listSessions({ tenant: "t", pageSize: 3, cursor, status: SessionStatus.UNSPECIFIED, labels: { run: tag } });
        expect(page.sessions.length).toBeLessThanOrEqual(3);
        seen.push(...page.sessions.map((s) => s.sessionId));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());
      const even = await store.listSessions({ tenant: "t", pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: { run: tag, parity: "even" } });
      expect(even.sessions.map((s) => s.sessionId)).toEqual([ids[6], ids[4], ids[2], ids[0]]);
      expect(even.nextCursor).toBeUndefined();
      const running = await store.listSessions({ tenant: "t", pageSize: 10, status: SessionStatus.RUNNING, labels: { run: tag } });
      expect(running.sessions.map((s) => s.sessionId)).toEqual([ids[2]]);
    });

    it("SEC-10: ids are per tenant: the same id in two tenants is two sessions, and neither is visible to the other", async () => {
      const mine = uniqueRef("dup", "t");
      const theirs: SessionRef = { tenant: "u", sessionId: mine.sessionId };
      await store.createSession({ ...mine, labels: { run: mine.sessionId }, agent });
      await store.createSession({ ...theirs, labels: { run: mine.sessionId }, agent });
      await store.append(mine, [userEvent("mine")], { idempotencyKey: "k" });
      // The same idempotency key in the other tenant's session is another key.
      expect((await store.append(theirs, [userEvent("theirs")], { idempotencyKey: "k" })).duplicate).toBe(false);
      expect((await all(mine)).map((e) => e.payload.case === "userMessage" && e.payload.value.content[0]?.block.value)).toEqual([expect.objectContaining({ text: "mine" })]);
      expect((await store.getSession(theirs)).tenant).toBe("u");
      expect((await store.acquireLease(theirs, "h", 5000)).epoch).toBe(1n);
      expect((await store.acquireLease(mine, "h", 5000)).epoch).toBe(1n);
      const listed = await store.listSessions({ tenant: "t", pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: { run: mine.sessionId } });
      expect(listed.sessions.map((s) => [s.tenant, s.sessionId])).toEqual([["t", mine.sessionId]]);
      const every = await store.listSessions({ tenant: undefined, pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: { run: mine.sessionId } });
      expect(every.sessions.map((s) => s.tenant).sort()).toEqual(["t", "u"]);
      await store.deleteSession(theirs);
      await rejection(store.getSession(theirs), "SESSION_NOT_FOUND");
      expect((await store.getSession(mine)).headSeq).toBe(1n);
      // A tenant whose name extends another's ("t" and "t2") lists only its own.
      const longer = await newSession({ run: mine.sessionId }, "t2");
      const onlyT = await store.listSessions({ tenant: "t", pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: { run: mine.sessionId } });
      expect(onlyT.sessions.map((s) => s.sessionId)).toEqual([mine.sessionId]);
      expect((await store.listSessions({ tenant: "t2", pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: {} })).sessions.map((s) => s.sessionId)).toContain(longer.sessionId);
    });

    it("a session with a subscriber keeps hearing its events while many other sessions come and go", async () => {
      const watched = await newSession();
      const heard: number[] = [];
      const sub = await store.subscribe(watched, (s) => s.kind === "events" && heard.push(...seqs(s.events)));
      for (let i = 0; i < 6; i++) {
        const other = await newSession();
        await store.append(other, [userEvent("x")]);
        await store.getSession(other);
        await store.append(watched, [userEvent(`${i}`)]);
      }
      expect(heard).toEqual(range(1, 6));
      expect((await store.getSession(watched)).headSeq).toBe(6n);
      sub.unsubscribe();
    });

    it("subscribers hear every committed event once, in seq order, until they unsubscribe", async () => {
      const id = await newSession();
      await store.append(id, [userEvent("before")]);
      const heard: number[] = [];
      const sub = await store.subscribe(id, (s) => {
        if (s.kind !== "events") return;
        heard.push(...seqs(s.events));
      });
      expect(sub.headSeq).toBe(1);
      await Promise.all(range(1, 30).map((i) => store.append(id, [userEvent(`${i}`)])));
      expect(heard).toEqual(range(2, 31));
      sub.unsubscribe();
      await store.append(id, [userEvent("after")]);
      expect(heard).toHaveLength(30);
    });
  });
}
