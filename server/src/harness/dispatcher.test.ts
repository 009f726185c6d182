import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { AgentConfigSchema, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isOmaError } from "../errors/oma-error.js";
import { createLogger } from "../logger.js";
import { delayStorage } from "../store/delayed-storage.js";
import { MemorySessionStorage } from "../store/memory-session-storage.js";
import { MemorySessionStore } from "../store/memory-session-store.js";
import { SessionLog } from "../store/session-log.js";
import { HarnessDispatcher, type WorkerMessage } from "./dispatcher.js";
import { LogBuilder } from "./testing/log-builder.js";

const TTL = 5_000;
let clock = 1_700_000_000_000;
const now = () => clock;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(options: { autoRewake?: boolean; writeDelayMs?: number } = {}) {
  const store = options.writeDelayMs === undefined ? new MemorySessionStore({ now }) : new SessionLog(delayStorage(new MemorySessionStorage(), options.writeDelayMs), { now });
  const dispatcher = new HarnessDispatcher({
    store,
    logger: createLogger({ level: "silent" }),
    options: { leaseTtlMs: TTL, sweepIntervalMs: 60_000, heartbeatIntervalMs: 60_000, autoRewake: options.autoRewake ?? true },
    now,
  });
  await dispatcher.start();
  cleanups.push(() => dispatcher.close(), () => store.close());
  const session = async (build?: (log: LogBuilder) => void) => {
    const ref = { tenant: "t", sessionId: `s-${randomUUID()}` };
    await store.createSession({ ...ref, labels: {}, agent: create(AgentConfigSchema, { model: "m" }) });
    const log = new LogBuilder();
    build?.(log);
    if (log.events.length > 0) await store.append(ref, log.events);
    return ref;
  };
  const worker = (workerId: string, capacity = 1, tenant = "*") => {
    const abort = new AbortController();
    const it = dispatcher.connectWorker({ tenant, workerId, capacity, labels: {} }, abort.signal);
    cleanups.push(() => abort.abort());
    const next = async (): Promise<WorkerMessage | undefined> => (await it.next()).value ?? undefined;
    const first = next(); // the greeting heartbeat; the worker is registered once it is read
    return { next, abort, ready: first };
  };
  return { store, dispatcher, session, worker };
}

async function newSession(store: MemorySessionStore, log: LogBuilder): Promise<{ tenant: string; sessionId: string }> {
  const ref = { tenant: "t", sessionId: `s-${randomUUID()}` };
  await store.createSession({ ...ref, labels: {}, agent: create(AgentConfigSchema, { model: "m" }) });
  await store.append(ref, log.events);
  return ref;
}

/** A store an earlier server wrote to, and a dispatcher to start on it as the next server. */
async function earlierServer() {
  const store = new MemorySessionStore({ now });
  cleanups.push(() => store.close());
  const start = async () => {
    const dispatcher = new HarnessDispatcher({ store, logger: createLogger({ level: "silent" }), options: { leaseTtlMs: TTL, sweepIntervalMs: 60_000 }, now });
    cleanups.push(() => dispatcher.close());
    await dispatcher.start();
    return dispatcher;
  };
  return { store, start };
}

describe("HarnessDispatcher", () => {
  it("HARN-1: Wake is idempotent while the brain's lease is live", async () => {
    const { dispatcher, session } = await setup();
    const id = await session((l) => l.user("hi"));
    const first = await dispatcher.wake(id);
    expect(first.alreadyRunning).toBe(false);
    expect(first.harnessId).toMatch(/^hrn_/);
    const again = await dispatcher.wake(id);
    expect(again).toEqual({ harnessId: first.harnessId, leaseEpoch: first.leaseEpoch, alreadyRunning: true });
    expect(dispatcher.list({ sessionId: id.sessionId }).map((h) => h.harnessId)).toEqual([first.harnessId]);
  });

  it("HARN-13: ListHarnesses reads each brain's lease from the store, not from the last sweep", async () => {
    const { store, dispatcher, session } = await setup();
    const ref = await session();
    const woke = await dispatcher.wake(ref);
    // The brain renews its lease in the store; no sweep has run since (they are a minute apart).
    clock += TTL - 1_000;
    await store.renewLease(ref, woke.leaseEpoch, TTL);
    clock += 2_000;
    expect(dispatcher.list({ sessionId: ref.sessionId })).toEqual([]); // the sweep's view: expired
    expect((await dispatcher.listLive({ sessionId: ref.sessionId, limit: 10 })).map((h) => h.harnessId)).toEqual([woke.harnessId]);
  });

  it("HARN-13: ListHarnesses pages read the leases of the brains they show, skipping lapsed ones", async () => {
    const { store, dispatcher, session } = await setup();
    const refs = await Promise.all(Array.from({ length: 6 }, () => session()));
    const woken = await Promise.all(refs.map((ref) => dispatcher.wake(ref)));
    // Two brains let their leases lapse; the others renew theirs. No sweep runs.
    clock += TTL - 1_000;
    const byId = refs.map((ref, i) => ({ ref, woke: woken[i]! })).sort((a, b) => (a.woke.harnessId < b.woke.harnessId ? -1 : 1));
    const lapsed = new Set([byId[0]!.woke.harnessId, byId[3]!.woke.harnessId]);
    for (const { ref, woke } of byId) if (!lapsed.has(woke.harnessId)) await store.renewLease(ref, woke.leaseEpoch, TTL);
    clock += 2_000;
    const reads = vi.spyOn(store, "getSession");
    const first = await dispatcher.listLive({ limit: 2 });
    expect(first.map((h) => h.harnessId)).toEqual([byId[1]!.woke.harnessId, byId[2]!.woke.harnessId]);
    expect(reads.mock.calls.length).toBeLessThanOrEqual(4);
    const rest = await dispatcher.listLive({ after: first.at(-1)!.harnessId, limit: 10 });
    expect(rest.map((h) => h.harnessId)).toEqual([byId[4]!.woke.harnessId, byId[5]!.woke.harnessId]);
  });

  it("HARN-1: concurrent Wakes start one brain", async () => {
    const { dispatcher, session } = await setup();
    const id = await session((l) => l.user("hi"));
    const results = await Promise.all(Array.from({ length: 5 }, () => dispatcher.wake(id)));
    expect(new Set(results.map((r) => r.harnessId)).size).toBe(1);
    expect(results.filter((r) => !r.alreadyRunning)).toHaveLength(1);
  });

  it("HARN-1: concurrent Wakes start one brain while the winner's lease is not yet durable (a write that takes timer turns), and every Wake returns", async () => {
    // Reads of a cached session need no I/O; the losers must not spin on them without
    // letting the winner's write finish.
    const { dispatcher, session } = await setup({ writeDelayMs: 5 });
    const id = await session((l) => l.user("hi"));
    const results = await Promise.all(Array.from({ length: 8 }, () => dispatcher.wake(id)));
    expect(new Set(results.map((r) => r.harnessId)).size).toBe(1);
    expect(results.filter((r) => !r.alreadyRunning)).toHaveLength(1);
  });

  it("rejects unknown (SESSION_NOT_FOUND) and terminated (SESSION_TERMINATED) sessions", async () => {
    const { dispatcher, session, store } = await setup();
    const reasonOf = (p: Promise<unknown>) => p.then(() => "", (e: unknown) => (isOmaError(e) ? e.reason : String(e)));
    expect(await reasonOf(dispatcher.wake({ tenant: "t", sessionId: `nope-${randomUUID()}` }))).toBe("SESSION_NOT_FOUND");
    const id = await session((l) => l.user("hi"));
    await store.append(id, [create(EventSchema, { payload: { case: "statusChanged", value: { status: SessionStatus.TERMINATED } } })]);
    expect(await reasonOf(dispatcher.wake(id))).toBe("SESSION_TERMINATED");
    expect((await store.getSession(id)).lease).toBeUndefined();
  });

  it("HARN-3: queues a brain until a worker connects, then assigns it with its lease", async () => {
    const { dispatcher, session, worker } = await setup();
    const id = await session((l) => l.user("hi"));
    const woke = await dispatcher.wake(id);
    expect(dispatcher.list({ sessionId: id.sessionId })[0]?.workerId).toBeUndefined();
    const w = worker(`w-${randomUUID()}`);
    expect((await w.ready)?.kind).toBe("heartbeat");
    const msg = await w.next();
    expect(msg?.kind).toBe("assignment");
    if (msg?.kind === "assignment") {
      expect(msg.record).toMatchObject({ ...id, harnessId: woke.harnessId, epoch: woke.leaseEpoch });
      expect(msg.record.expireTime).toBe(clock + TTL);
    }
  });

  it("spreads brains over workers by load and respects capacity", async () => {
    const { dispatcher, session, worker } = await setup();
    const a = worker("wa", 2);
    const b = worker("wb", 1);
    await Promise.all([a.ready, b.ready]);
    const ids = await Promise.all([1, 2, 3, 4].map(() => session((l) => l.user("x"))));
    const got: string[] = [];
    const pa = a.next().then((m) => m?.kind === "assignment" && got.push("wa"));
    const pb = b.next().then((m) => m?.kind === "assignment" && got.push("wb"));
    for (const id of ids.slice(0, 2)) await dispatcher.wake(id);
    await Promise.all([pa, pb]);
    expect(got.sort()).toEqual(["wa", "wb"]);
    const pa2 = a.next();
    await dispatcher.wake(ids[2]!);
    expect((await pa2)?.kind).toBe("assignment");
    await dispatcher.wake(ids[3]!); // every worker is full: the fourth waits
    expect(dispatcher.list().filter((h) => ids.some((r) => r.sessionId === h.sessionId) && h.workerId === undefined)).toHaveLength(1);
  });

  it("a full worker gets the waiting brain once a brain it ran releases its lease", async () => {
    const { dispatcher, session, worker, store } = await setup();
    const w = worker(`full-${randomUUID()}`, 1);
    await w.ready;
    const [a, b] = [await session((l) => l.user("a")), await session((l) => l.user("b"))];
    const wokeA = await dispatcher.wake(a);
    const first = await w.next();
    expect(first?.kind === "assignment" && first.record.sessionId).toBe(a.sessionId);
    await dispatcher.wake(b);
    expect(dispatcher.list({ sessionId: b.sessionId })[0]?.workerId).toBeUndefined();
    await store.releaseLease(a, wokeA.leaseEpoch);
    const next = w.next();
    await dispatcher.sweep();
    const second = await next;
    expect(second?.kind === "assignment" && second.record.sessionId).toBe(b.sessionId);
  });

  it("HARN-5: re-wakes a session whose brain let its lease expire with work left", async () => {
    const { dispatcher, session, store } = await setup();
    const id = await session((l) => l.user("go"));
    const first = await dispatcher.wake(id);
    await store.append(id, new LogBuilder().harnessStarted(first.harnessId).running().toolUse("t1").events);
    clock += TTL + 1;
    await dispatcher.sweep();
    const live = dispatcher.list({ sessionId: id.sessionId });
    expect(live).toHaveLength(1);
    expect(live[0]!.harnessId).not.toBe(first.harnessId);
    expect(live[0]!.epoch).toBeGreaterThan(first.leaseEpoch);
    expect((await store.getSession(id)).lease?.holder).toBe(live[0]!.harnessId);
    // The log says why a successor appears.
    const { events } = await store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 100, order: "asc" });
    const last = events.at(-1)?.payload;
    expect(last?.case === "statusChanged" && last.value.status).toBe(SessionStatus.RESCHEDULING);
    expect(last?.case === "statusChanged" && last.value.detail).toContain(first.harnessId);
  });

  it("HARN-5: keeps a brain whose renewal is still being written when its old expiry passes: no RESCHEDULING, no successor, its dispatch record kept", async () => {
    // The committed session still shows the old expiry while the renewal's write is in
    // flight; judging by it alone wrote a false RESCHEDULING and dropped the dispatch record
    // of a live brain, which then nobody re-woke when it died (a stranded chaos session).
    const { dispatcher, session, store } = await setup({ writeDelayMs: 50 });
    const id = await session((l) => l.user("go"));
    const brain = await dispatcher.wake(id);
    await store.append(id, new LogBuilder().harnessStarted(brain.harnessId).running().toolUse("t1").events);
    clock += TTL - 10;
    const renewal = store.renewLease(id, brain.leaseEpoch, TTL);
    await new Promise((r) => setTimeout(r, 10)); // taken by the store, not durable yet
    clock += 20;
    expect((await store.getSession(id)).lease).toBeUndefined(); // what a read shows meanwhile
    await dispatcher.sweep();
    await renewal;
    const { events } = await store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 100, order: "asc" });
    expect(events.filter((e) => e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.RESCHEDULING)).toEqual([]);
    expect(dispatcher.list({ sessionId: id.sessionId }).map((h) => h.harnessId)).toEqual([brain.harnessId]);
    expect((await store.listDispatches({ pageSize: 10 })).dispatches.map((d) => d.harnessId)).toContain(brain.harnessId);
    // When it really ends, the session is handed on as usual.
    clock += 2 * TTL;
    await dispatcher.sweep();
    const successor = dispatcher.list({ sessionId: id.sessionId });
    expect(successor).toHaveLength(1);
    expect(successor[0]!.harnessId).not.toBe(brain.harnessId);
  });

  it("HARN-5: leaves a finished session alone after its brain released the lease", async () => {
    const { dispatcher, session, store } = await setup();
    const id = await session((l) => l.user("go"));
    const first = await dispatcher.wake(id);
    await store.append(id, new LogBuilder().harnessStarted(first.harnessId).running().agent("done").idle(StopReason.END_TURN).events);
    await store.releaseLease(id, first.leaseEpoch);
    await dispatcher.sweep();
    expect(dispatcher.list({ sessionId: id.sessionId })).toEqual([]);
    expect((await store.getSession(id)).lease).toBeUndefined();
  });

  it("SEC-5: a tenant's worker gets only its tenant's brains, a pool worker any; one worker id in two tenants is two workers", async () => {
    const { dispatcher, store, worker } = await setup();
    const inTenant = async (tenant: string) => {
      const ref = { tenant, sessionId: `s-${randomUUID()}` };
      await store.createSession({ ...ref, labels: {}, agent: create(AgentConfigSchema, { model: "m" }) });
      return ref;
    };
    const acme = worker("same-id", 1, "acme");
    const globex = worker("same-id", 1, "globex");
    await Promise.all([acme.ready, globex.ready]);
    const forGlobex = await inTenant("globex");
    const forInitech = await inTenant("initech");
    await dispatcher.wake(forGlobex);
    await dispatcher.wake(forInitech);
    const got = await globex.next();
    expect(got?.kind === "assignment" && [got.record.tenant, got.record.sessionId]).toEqual(["globex", forGlobex.sessionId]);
    // Nobody serves initech yet: its brain waits (acme's worker has room but not the right).
    expect(dispatcher.list({ tenant: "initech" }).map((h) => h.workerId)).toEqual([undefined]);
    const pool = worker("pool", 1, "*");
    await pool.ready;
    const pooled = await pool.next();
    expect(pooled?.kind === "assignment" && pooled.record.sessionId).toBe(forInitech.sessionId);
    expect(dispatcher.list({ tenant: "acme" })).toEqual([]);
  });

  it("HARN-27: a brain an earlier server dispatched is watched while its lease lives, and re-woken once it expires with work left", async () => {
    const { store, start } = await earlierServer();
    const id = await newSession(store, new LogBuilder().user("go"));
    const old = await store.acquireLease(id, "hrn_earlier", TTL, { dispatch: true });
    await store.append(id, new LogBuilder().harnessStarted("hrn_earlier").running().toolUse("t1").events);
    const dispatcher = await start();
    await dispatcher.sweep();
    expect(dispatcher.list({ sessionId: id.sessionId }).map((h) => h.harnessId)).toEqual(["hrn_earlier"]);
    clock += TTL + 1;
    await dispatcher.sweep();
    const live = dispatcher.list({ sessionId: id.sessionId });
    expect(live).toHaveLength(1);
    expect(live[0]!.epoch).toBeGreaterThan(Number(old.epoch));
    const records = (await store.listDispatches({ pageSize: 100 })).dispatches.filter((d) => d.ref.sessionId === id.sessionId);
    expect(records.map((d) => d.harnessId)).toEqual([live[0]!.harnessId]);
  });

  it("HARN-27: a Wake answered before a restart whose brain never started is woken again, even with no work in the log", async () => {
    const { store, start } = await earlierServer();
    // The earlier server answered Wake (lease + dispatch record), then died before any brain began.
    const queued = await newSession(store, new LogBuilder().user("go"));
    await store.acquireLease(queued, "hrn_queued", TTL, { dispatch: true });
    const quiet = await newSession(store, new LogBuilder().user("go").running().agent("hi").idle(StopReason.END_TURN));
    await store.acquireLease(quiet, "hrn_quiet", TTL, { dispatch: true });
    const dispatcher = await start();
    await dispatcher.sweep();
    // Its lease may still be in a worker's hands: nothing happens before it ends.
    expect(dispatcher.list({ sessionId: queued.sessionId }).map((h) => h.harnessId)).toEqual(["hrn_queued"]);
    clock += TTL + 1;
    await dispatcher.sweep();
    for (const id of [queued, quiet]) {
      const live = dispatcher.list({ sessionId: id.sessionId });
      expect(live).toHaveLength(1);
      expect(live[0]!.harnessId).not.toMatch(/hrn_(queued|quiet)/);
      const { events } = await store.readEvents(id, { afterSeq: 0, beforeSeq: 0, limit: 100, order: "desc" });
      const last = events[0]?.payload;
      expect(last?.case === "statusChanged" && last.value.detail).toContain("before it started");
    }
  });

  it("HARN-27: settled brains lose their dispatch record; a started brain that finished is not woken again after a restart", async () => {
    const { store, start } = await earlierServer();
    const done = await newSession(store, new LogBuilder().user("go"));
    const lease = await store.acquireLease(done, "hrn_done", TTL, { dispatch: true });
    await store.append(done, new LogBuilder().harnessStarted("hrn_done").running().agent("ok").idle(StopReason.END_TURN).events);
    await store.releaseLease(done, Number(lease.epoch));
    const dispatcher = await start();
    await dispatcher.sweep();
    expect(dispatcher.list({ sessionId: done.sessionId })).toEqual([]);
    expect((await store.getSession(done)).lease).toBeUndefined();
    expect((await store.listDispatches({ pageSize: 1000 })).dispatches.some((d) => d.ref.sessionId === done.sessionId)).toBe(false);
  });

  it("a failing session does not stop the sweep: the others are still re-woken, and it is tried again", async () => {
    const { dispatcher, session, store } = await setup();
    const ids = [await session((l) => l.user("a")), await session((l) => l.user("b")), await session((l) => l.user("c"))];
    for (const id of ids) await dispatcher.wake(id);
    const getSession = store.getSession.bind(store);
    let failures = 0;
    store.getSession = async (ref) => {
      if (ref.sessionId === ids[0]!.sessionId && failures++ < 1) throw new Error("storage hiccup");
      return getSession(ref);
    };
    clock += TTL + 1;
    await dispatcher.sweep();
    expect(ids.slice(1).map((id) => dispatcher.list({ sessionId: id.sessionId }).length)).toEqual([1, 1]);
    expect(dispatcher.list({ sessionId: ids[0]!.sessionId })).toEqual([]);
    await dispatcher.sweep();
    expect(dispatcher.list({ sessionId: ids[0]!.sessionId })).toHaveLength(1);
  });

  it("assignments a dropped worker stream never carried go to the next worker at once", async () => {
    const { dispatcher, session, worker } = await setup();
    const a = worker(`drop-${randomUUID()}`, 2);
    await a.ready;
    const id = await session((l) => l.user("x"));
    const woke = await dispatcher.wake(id); // queued on a's stream, not read yet
    a.abort.abort();
    await a.next();
    const b = worker(`next-${randomUUID()}`, 1);
    await b.ready;
    const msg = await b.next();
    expect(msg?.kind === "assignment" && msg.record.harnessId).toBe(woke.harnessId);
  });
});
