import { randomBytes } from "node:crypto";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { isOmaError, OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import { ANY_TENANT } from "../auth/principal.js";
import { sessionKey, type SessionRef } from "../store/session-ref.js";
import type { SessionStore } from "../store/session-store.js";
import { AsyncQueue } from "./async-queue.js";
import { defaultHarnessOptions, type HarnessOptions } from "./harness-options.js";
import { fromInt64 } from "./int64.js";
import { sessionHasUnfinishedWork } from "./unfinished-work.js";

/** How soon brains waiting for a full set of workers look for a freed slot. */
const FULL_RECHECK_MS = 100;

/** One live brain as the dispatcher knows it. */
export interface HarnessRecord {
  readonly harnessId: string;
  /** The tenant of its session. */
  readonly tenant: string;
  readonly sessionId: string;
  epoch: number;
  /** Undefined while the assignment waits for a worker; "" for a brain of an earlier server. */
  workerId: string | undefined;
  readonly startTime: number;
  expireTime: number;
}

/** What a worker's stream carries. */
export type WorkerMessage = { kind: "assignment"; record: HarnessRecord } | { kind: "heartbeat"; assigned: number };

/** A worker as it announces itself: the tenant of its token ("*" serves every tenant), its id and room. */
export interface WorkerAnnouncement {
  readonly tenant: string;
  readonly workerId: string;
  readonly capacity: number;
  readonly labels: Readonly<Record<string, string>>;
}

interface WorkerConnection {
  /** Tenant and id: two tenants' workers with one id are two workers. */
  readonly key: string;
  readonly tenant: string;
  readonly workerId: string;
  readonly capacity: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly assigned: Set<string>;
  readonly queue: AsyncQueue<HarnessRecord>;
}

export interface WakeResult {
  readonly harnessId: string;
  readonly leaseEpoch: number;
  readonly alreadyRunning: boolean;
}

/**
 * HarnessService's domain: makes sure one brain works on each woken session (HARN-1),
 * hands brains to connected workers (least loaded first, round-robin among equals),
 * queues them while no worker has room, and re-wakes sessions whose brain died with work
 * left (HARN-5). It touches sessions only through the SessionStore's leases and log.
 */
export class HarnessDispatcher {
  readonly #store: SessionStore;
  readonly #log: Logger;
  readonly #options: HarnessOptions;
  readonly #now: () => number;
  readonly #harnesses = new Map<string, HarnessRecord>();
  /** Harness id by session key (session-ref.ts). */
  readonly #bySession = new Map<string, string>();
  /** The key of the worker each dispatched brain went to. */
  readonly #workerOf = new Map<string, string>();
  readonly #workers = new Map<string, WorkerConnection>();
  readonly #waiting: string[] = [];
  /** Sessions found RUNNING at startup, by key, checked once by the first sweep. */
  readonly #orphans = new Map<string, SessionRef>();
  #rotation = 0;
  #timer: NodeJS.Timeout | undefined;
  #recheck: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;

  constructor(deps: { store: SessionStore; logger: Logger; options?: Partial<HarnessOptions>; now?: () => number }) {
    this.#store = deps.store;
    this.#log = deps.logger;
    this.#options = { ...defaultHarnessOptions, ...deps.options };
    this.#now = deps.now ?? Date.now;
  }

  get options(): HarnessOptions {
    return this.#options;
  }

  /** Starts the sweeper; sessions left RUNNING by an earlier server are checked first. */
  async start(): Promise<void> {
    if (this.#options.autoRewake) {
      let cursor: string | undefined;
      do {
        const page = await this.#store.listSessions({ tenant: undefined, pageSize: 500, cursor, status: SessionStatus.RUNNING, labels: {} });
        for (const s of page.sessions) this.#orphans.set(sessionKey(s), { tenant: s.tenant, sessionId: s.sessionId });
        cursor = page.nextCursor;
      } while (cursor);
    }
    this.#timer = setInterval(() => void this.sweep(), this.#options.sweepIntervalMs);
    this.#timer.unref();
    void this.sweep();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#recheck) clearTimeout(this.#recheck);
    for (const w of this.#workers.values()) w.queue.close();
    await this.#sweeping;
  }

  /** HARN-1: idempotent; a live lease means a brain already works on the session. */
  async wake(ref: SessionRef): Promise<WakeResult> {
    const sessionId = ref.sessionId;
    for (;;) {
      const session = await this.#store.getSession(ref);
      if (session.status === SessionStatus.TERMINATED) {
        throw new OmaError("SESSION_TERMINATED", `session ${sessionId} is terminated`, { session_id: sessionId });
      }
      if (session.lease) {
        return { harnessId: session.lease.holder, leaseEpoch: fromInt64(session.lease.epoch), alreadyRunning: true };
      }
      const harnessId = `hrn_${randomBytes(12).toString("hex")}`;
      let lease;
      try {
        lease = await this.#store.acquireLease(ref, harnessId, this.#options.leaseTtlMs);
      } catch (err) {
        if (isOmaError(err, "LEASE_HELD")) continue; // another Wake won the race: report its brain
        throw err;
      }
      const now = this.#now();
      const record: HarnessRecord = {
        harnessId,
        tenant: ref.tenant,
        sessionId,
        epoch: fromInt64(lease.epoch),
        workerId: undefined,
        startTime: now,
        expireTime: lease.expireTime ? timestampMs(lease.expireTime) : now + this.#options.leaseTtlMs,
      };
      const previous = this.#bySession.get(sessionKey(ref));
      if (previous) this.#forget(previous);
      this.#harnesses.set(harnessId, record);
      this.#bySession.set(sessionKey(ref), harnessId);
      this.#waiting.push(harnessId);
      this.#dispatch();
      this.#log.info({ tenant: ref.tenant, sessionId, harnessId, epoch: record.epoch, workerId: record.workerId }, "woke session");
      return { harnessId, leaseEpoch: record.epoch, alreadyRunning: false };
    }
  }

  /** Live brains (lease not expired) of a tenant (or of all), ordered by harness id. */
  list(filter: { tenant?: string; sessionId?: string } = {}): HarnessRecord[] {
    const now = this.#now();
    return [...this.#harnesses.values()]
      .filter((h) => h.expireTime > now && (filter.tenant === undefined || h.tenant === filter.tenant) && (!filter.sessionId || h.sessionId === filter.sessionId))
      .sort((a, b) => (a.harnessId < b.harnessId ? -1 : a.harnessId > b.harnessId ? 1 : 0));
  }

  /**
   * HARN-3: registers a worker and yields its assignments and heartbeats until `signal`
   * aborts. A worker that connects again with the same id (in its tenant) replaces its old
   * stream. It receives only sessions of its tenant, or of every tenant when that is "*".
   */
  async *connectWorker(worker: WorkerAnnouncement, signal: AbortSignal): AsyncGenerator<WorkerMessage> {
    const key = `${worker.tenant}/${worker.workerId}`;
    const old = this.#workers.get(key);
    const conn: WorkerConnection = { ...worker, key, assigned: old?.assigned ?? new Set(), queue: new AsyncQueue() };
    old?.queue.close();
    this.#workers.set(key, conn);
    const onAbort = () => conn.queue.close();
    signal.addEventListener("abort", onAbort);
    this.#log.info({ workerId: worker.workerId, tenant: worker.tenant, capacity: worker.capacity }, "worker connected");
    this.#dispatch();
    try {
      // An immediate heartbeat tells the worker it is registered.
      yield { kind: "heartbeat", assigned: conn.assigned.size };
      while (!conn.queue.closed && !this.#closed) {
        const record = await conn.queue.next(this.#options.heartbeatIntervalMs);
        if (record) yield { kind: "assignment", record };
        else if (!conn.queue.closed) yield { kind: "heartbeat", assigned: conn.assigned.size };
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (this.#workers.get(key) === conn) this.#workers.delete(key);
      this.#log.info({ workerId: worker.workerId }, "worker disconnected");
    }
  }

  /** One pass: drop finished brains, renew queued ones, re-wake dead ones (HARN-5). */
  sweep(): Promise<void> {
    if (this.#sweeping) return this.#sweeping;
    this.#sweeping = this.#sweepOnce()
      .catch((err: unknown) => this.#log.error({ err }, "harness sweep failed"))
      .finally(() => {
        this.#sweeping = undefined;
      });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<void> {
    const toCheck = new Map<string, { ref: SessionRef; dead: HarnessRecord | undefined }>();
    for (const [key, ref] of this.#orphans) {
      if (this.#closed) return;
      const adopted = await this.#adopt(ref);
      if (!adopted) toCheck.set(key, { ref, dead: undefined });
    }
    this.#orphans.clear();
    for (const record of [...this.#harnesses.values()]) {
      if (this.#closed) return;
      const ref = { tenant: record.tenant, sessionId: record.sessionId };
      let session;
      try {
        session = await this.#store.getSession(ref);
      } catch (err) {
        if (isOmaError(err, "SESSION_NOT_FOUND")) this.#forget(record.harnessId);
        else throw err;
        continue;
      }
      const lease = session.lease;
      if (lease && fromInt64(lease.epoch) === record.epoch) {
        record.expireTime = lease.expireTime ? timestampMs(lease.expireTime) : record.expireTime;
        if (record.workerId === undefined && record.expireTime - this.#now() < (this.#options.leaseTtlMs * 2) / 3) {
          // A brain that waits for a worker keeps its lease: the dispatcher renews it.
          await this.#store.renewLease(ref, record.epoch, this.#options.leaseTtlMs).catch(() => undefined);
        }
        continue;
      }
      this.#forget(record.harnessId);
      if (!lease) toCheck.set(sessionKey(ref), { ref, dead: record });
    }
    if (this.#options.autoRewake) {
      for (const { ref, dead } of toCheck.values()) {
        if (this.#closed) return;
        await this.#rewakeIfUnfinished(ref, dead);
      }
    }
    this.#dispatch();
  }

  async #rewakeIfUnfinished(ref: SessionRef, dead?: HarnessRecord): Promise<void> {
    const sessionId = ref.sessionId;
    try {
      const session = await this.#store.getSession(ref);
      if (session.lease || session.status === SessionStatus.TERMINATED) return;
      if (!(await sessionHasUnfinishedWork(this.#store, ref))) return;
      // The log says why a new brain appears: the old one stopped renewing its lease. Only
      // if nothing was appended since the check, so it never lands inside a brain's work.
      const detail = dead
        ? `brain ${dead.harnessId} (worker ${dead.workerId ?? "none"}, epoch ${dead.epoch}) ${dead.expireTime > this.#now() ? "released its lease" : "let its lease expire"} with work left; handing the session to a successor`
        : "no brain holds the session after a server restart; handing it to a successor";
      await this.#store
        .append(ref, [create(EventSchema, { payload: { case: "statusChanged", value: { status: SessionStatus.RESCHEDULING, detail } } })], {
          expectedHeadSeq: fromInt64(session.headSeq),
        })
        .catch((err: unknown) => {
          if (!isOmaError(err, "HEAD_SEQ_MISMATCH")) throw err;
        });
      const woke = await this.wake(ref);
      this.#log.warn({ sessionId, harnessId: woke.harnessId, epoch: woke.leaseEpoch, dead: dead?.harnessId }, "re-woke a session whose brain died with work left");
    } catch (err) {
      if (!isOmaError(err, "SESSION_NOT_FOUND") && !isOmaError(err, "SESSION_TERMINATED") && !isOmaError(err, "LEASE_HELD")) throw err;
    }
  }

  /**
   * A session left RUNNING by an earlier server whose lease is still live: its brain may
   * still work (workers outlive a server restart) or may be dead. Tracked like any brain,
   * the sweep re-wakes the session if the lease ends with work left. Returns false when
   * there is no live lease to watch.
   */
  async #adopt(ref: SessionRef): Promise<boolean> {
    const session = await this.#store.getSession(ref).catch(() => undefined);
    const lease = session?.lease;
    if (!lease || this.#bySession.has(sessionKey(ref))) return false;
    const now = this.#now();
    const record: HarnessRecord = {
      harnessId: lease.holder,
      tenant: ref.tenant,
      sessionId: ref.sessionId,
      epoch: fromInt64(lease.epoch),
      workerId: "", // a brain of an earlier server: its worker is not known here
      startTime: now,
      expireTime: lease.expireTime ? timestampMs(lease.expireTime) : now,
    };
    this.#harnesses.set(record.harnessId, record);
    this.#bySession.set(sessionKey(ref), record.harnessId);
    return true;
  }

  #forget(harnessId: string): void {
    const record = this.#harnesses.get(harnessId);
    if (!record) return;
    this.#harnesses.delete(harnessId);
    const key = sessionKey(record);
    if (this.#bySession.get(key) === harnessId) this.#bySession.delete(key);
    const workerKey = this.#workerOf.get(harnessId);
    this.#workerOf.delete(harnessId);
    if (workerKey !== undefined) this.#workers.get(workerKey)?.assigned.delete(harnessId);
    const i = this.#waiting.indexOf(harnessId);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  /** Hands waiting brains to the least loaded workers with room, round-robin among equals. */
  /**
   * Hands waiting brains, in order, to the least loaded workers with room that serve their
   * tenant; a brain no such worker can take keeps its place.
   */
  #dispatch(): void {
    const stillWaiting: string[] = [];
    let full = false;
    for (const harnessId of this.#waiting.splice(0)) {
      const record = this.#harnesses.get(harnessId);
      if (!record) continue;
      const worker = this.#pickWorker(record.tenant);
      if (!worker) {
        full ||= [...this.#workers.values()].some((w) => serves(w, record.tenant));
        stillWaiting.push(harnessId);
        continue;
      }
      record.workerId = worker.workerId;
      worker.assigned.add(harnessId);
      this.#workerOf.set(harnessId, worker.key);
      worker.queue.push(record);
      this.#log.info({ tenant: record.tenant, sessionId: record.sessionId, harnessId, workerId: worker.workerId }, "assigned brain to worker");
    }
    this.#waiting.push(...stillWaiting);
    // Every worker that could take one is full: look for finished brains sooner than the sweep.
    if (full && !this.#recheck && !this.#closed) {
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        void this.sweep();
      }, FULL_RECHECK_MS);
      this.#recheck.unref();
    }
  }

  #pickWorker(tenant: string): WorkerConnection | undefined {
    const workers = [...this.#workers.values()].filter((w) => !w.queue.closed && w.assigned.size < w.capacity && serves(w, tenant));
    if (workers.length === 0) return undefined;
    const start = this.#rotation++ % workers.length;
    const rotated = [...workers.slice(start), ...workers.slice(0, start)];
    return rotated.reduce((best, w) => (w.assigned.size / w.capacity < best.assigned.size / best.capacity ? w : best));
  }
}

/** Whether a worker may run a brain of this tenant: a pool worker ("*") serves every tenant. */
function serves(worker: WorkerConnection, tenant: string): boolean {
  return worker.tenant === ANY_TENANT || worker.tenant === tenant;
}
