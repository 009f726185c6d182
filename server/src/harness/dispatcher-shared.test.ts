import { create } from "@bufbuild/protobuf";
import { AgentConfigSchema } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { MemorySessionStorage } from "../store/memory-session-storage.js";
import { SessionLog } from "../store/session-log.js";
import type { SessionRef } from "../store/session-ref.js";
import { memoryDispatchHints, SharedView } from "../testing/shared-memory-view.js";
import { HarnessDispatcher, type WorkerMessage } from "./dispatcher.js";
import { LogBuilder } from "./testing/log-builder.js";

const TTL = 5_000;
let clock = 1_700_000_000_000;
const now = () => clock;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two servers (a store and a dispatcher each) over one shared storage; sweeps run when the test says. */
async function twoServers(options: { hints?: boolean } = {}) {
  const storage = new MemorySessionStorage();
  const hints = options.hints ? memoryDispatchHints() : undefined;
  const server = async () => {
    const store = new SessionLog(new SharedView(storage, hints), { now });
    const dispatcher = new HarnessDispatcher({ store, logger: createLogger({ level: "silent" }), options: { leaseTtlMs: TTL, sweepIntervalMs: 60_000, heartbeatIntervalMs: 60_000 }, now, sharedStore: true });
    await dispatcher.start();
    cleanups.push(() => store.close(), () => dispatcher.close());
    const worker = (workerId: string, capacity = 1) => {
      const abort = new AbortController();
      const it = dispatcher.connectWorker({ tenant: "*", workerId, capacity, labels: {} }, abort.signal);
      cleanups.push(() => abort.abort());
      const assignments: string[] = [];
      const next = async (): Promise<WorkerMessage | undefined> => (await it.next()).value ?? undefined;
      // Reads its stream for good: every assignment it is handed, by session.
      const ready = next().then(() => {
        void (async () => {
          for (let m = await next(); m; m = await next()) if (m.kind === "assignment") assignments.push(m.record.sessionId);
        })();
      });
      return { ready, assignments, abort };
    };
    return { store, dispatcher, worker };
  };
  const [a, b] = [await server(), await server()];
  const session = async (): Promise<SessionRef> => {
    const ref = { tenant: "t", sessionId: `s-${randomUUID()}` };
    await a.store.createSession({ ...ref, labels: {}, agent: create(AgentConfigSchema, { model: "m" }) });
    await a.store.append(ref, new LogBuilder().user("go").events);
    return ref;
  };
  return { a, b, session };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check(), what).toBe(true);
}

describe("two dispatchers on one shared store", () => {
  it("HARN-3: a Wake on a server without workers reaches a worker of the other server at its next sweep; the first server only watches it then", async () => {
    const { a, b, session } = await twoServers();
    const w = b.worker("wb");
    await w.ready;
    const ref = await session();
    const woke = await a.dispatcher.wake(ref);
    expect(a.dispatcher.stats().waiting).toBe(1);
    await b.dispatcher.sweep();
    await eventually(() => w.assignments.length === 1, "the brain reached server B's worker");
    expect(w.assignments).toEqual([ref.sessionId]);
    await a.dispatcher.sweep();
    expect(a.dispatcher.stats().waiting).toBe(0);
    expect(a.dispatcher.list({ sessionId: ref.sessionId }).map((h) => [h.harnessId, h.workerId])).toEqual([[woke.harnessId, ""]]);
    expect((await a.store.listDispatches({ pageSize: 10 })).dispatches.map((d) => d.claimedBy)).toEqual([expect.stringMatching(/^dsp_/)]);
  });

  it("HARN-3: with dispatch hints, a Wake on a server without workers reaches the other server's worker at once, without a sweep", async () => {
    const { a, b, session } = await twoServers({ hints: true });
    const w = b.worker("wb");
    await w.ready;
    const refs = [await session(), await session()];
    for (const ref of refs) await a.dispatcher.wake(ref);
    // No sweep runs (they are a minute apart): the hint alone brings the first to B's worker (its one slot).
    await eventually(() => w.assignments.length === 1, "the first brain reached server B's worker");
    expect(w.assignments).toEqual([refs[0]!.sessionId]);
  });

  it("HARN-1: a sweep that reads a Wake's dispatch record before the Wake tracks its brain does not hand the brain out twice", async () => {
    const { a, session } = await twoServers({ hints: true });
    const w = a.worker("wa", 100);
    await w.ready;
    // The Wake's lease and record are written, and its answer is held back while a sweep runs.
    const acquire = a.store.acquireLease.bind(a.store);
    let held: Promise<void> | undefined;
    a.store.acquireLease = async (...args) => {
      const lease = await acquire(...args);
      held = a.dispatcher.sweep().then(() => new Promise((r) => setTimeout(r, 20)));
      await held;
      return lease;
    };
    const ref = await session();
    await a.dispatcher.wake(ref);
    await held;
    await a.dispatcher.sweep();
    await eventually(() => w.assignments.length >= 1, "the brain reached the worker");
    await new Promise((r) => setTimeout(r, 50));
    expect(w.assignments).toEqual([ref.sessionId]);
  });

  it("HARN-1: brains woken on both servers, both with free workers and both sweeping: each goes to exactly one worker", async () => {
    const { a, b, session } = await twoServers();
    const wa = a.worker("wa", 100);
    const wb = b.worker("wb", 100);
    await Promise.all([wa.ready, wb.ready]);
    // No worker is connected when the Wakes come, so both servers hold every brain waiting.
    wa.abort.abort();
    wb.abort.abort();
    const refs = await Promise.all(Array.from({ length: 30 }, () => session()));
    await Promise.all(refs.map((ref, i) => (i % 2 ? a : b).dispatcher.wake(ref)));
    await Promise.all([a.dispatcher.sweep(), b.dispatcher.sweep()]);
    const [xa, xb] = [a.worker("xa", 100), b.worker("xb", 100)];
    await Promise.all([xa.ready, xb.ready]);
    await Promise.all([a.dispatcher.sweep(), b.dispatcher.sweep()]);
    await eventually(() => xa.assignments.length + xb.assignments.length === 30, "every brain reached a worker");
    await new Promise((r) => setTimeout(r, 50));
    expect([...xa.assignments, ...xb.assignments].sort()).toEqual(refs.map((r) => r.sessionId).sort());
    expect(xa.assignments.length + xb.assignments.length).toBe(30);
  });

  it("HARN-3: a brain no worker anywhere can take waits on both servers with its lease kept, and the first worker to connect on either takes it", async () => {
    const { a, b, session } = await twoServers();
    const ref = await session();
    const woke = await a.dispatcher.wake(ref);
    await b.dispatcher.sweep();
    expect([a.dispatcher.stats().waiting, b.dispatcher.stats().waiting]).toEqual([1, 1]);
    // Longer than a TTL without a worker: the dispatchers renew the waiting brain's lease.
    for (let i = 0; i < 3; i++) {
      clock += TTL / 2;
      await Promise.all([a.dispatcher.sweep(), b.dispatcher.sweep()]);
    }
    expect((await a.store.getSession(ref)).lease?.holder).toBe(woke.harnessId);
    const w = b.worker("late");
    await w.ready;
    await eventually(() => w.assignments.length === 1, "the late worker got the brain");
    await a.dispatcher.sweep();
    expect(a.dispatcher.stats().waiting).toBe(0);
    expect(a.dispatcher.list({ sessionId: ref.sessionId }).map((h) => h.harnessId)).toEqual([woke.harnessId]);
  });
});
