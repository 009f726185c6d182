import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { SessionStatus, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { isOmaError, OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { SessionRef } from "../store/session-ref.js";
import type { DispatchRecord, SessionStore } from "../store/session-store.js";
import { BrainBook, byHarnessId, refOf, type HarnessRecord } from "./brain-book.js";
import { brainOutcome } from "./brain-outcome.js";
import { defaultHarnessOptions, type HarnessOptions } from "./harness-options.js";
import { fromInt64 } from "./int64.js";
import { rewake } from "./rewake.js";
import { SharedClaims } from "./shared-claims.js";
import { WorkerSet, type WorkerAnnouncement } from "./worker-set.js";
import { context, type Context } from "@opentelemetry/api";
import { annotateSpan, ATTR_SESSION_ID, ATTR_SESSION_SEQ, carrierOf, inSpan } from "../telemetry/tracing.js";

export type { WorkerAnnouncement } from "./worker-set.js";
export type { HarnessRecord } from "./brain-book.js";

/** How soon brains waiting for a full set of workers look for a freed slot. */
const FULL_RECHECK_MS = 100;
/** How long a Wake that lost the race for the lease waits before it reads the winner's. */
const LEASE_HELD_RETRY_MS = 1;
/** Dispatch records read per page at start. */
const START_PAGE = 500;

/** What a worker's stream carries: a brain to run, with the TTL its lease was granted with, or a heartbeat. */
export type WorkerMessage = { kind: "assignment"; record: HarnessRecord; leaseTtlMs: number } | { kind: "heartbeat"; assigned: number };

export interface WakeResult {
  readonly harnessId: string;
  readonly leaseEpoch: number;
  readonly alreadyRunning: boolean;
}

/**
 * HarnessService's domain: makes sure one brain works on each woken session (HARN-1),
 * hands brains to connected workers (least loaded first, round-robin among equals),
 * queues them while no worker has room, and wakes sessions again whose brain ended with
 * work left (HARN-5) or never started (HARN-27).
 *
 * Everything it owes survives a restart: a Wake takes the lease and writes a dispatch
 * record in one durable write, and a starting dispatcher rebuilds its brains from those
 * records. Memory holds only what is rebuilt that way, plus the connected workers.
 */
export class HarnessDispatcher {
  readonly #store: SessionStore;
  readonly #log: Logger;
  readonly #options: HarnessOptions;
  readonly #now: () => number;
  readonly #workers = new WorkerSet<HarnessRecord>();
  readonly #book = new BrainBook(this.#workers);
  readonly #waiting = this.#book.waiting;
  #timer: NodeJS.Timeout | undefined;
  #recheck: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;
  #stopHints: (() => void) | undefined;
  /**
   * Harness ids of Wakes in flight here, between taking the lease and tracking the brain: a
   * sweep (or a hint) that reads the new dispatch record meanwhile must not adopt it as
   * another server's, or the brain could be handed out twice.
   */
  readonly #waking = new Set<string>();

  /**
   * Other servers share the store: their dispatch records are read again at every sweep, and
   * a brain goes to a worker only once this server has claimed its record (any server whose
   * workers have room may claim a record nobody has: a Wake reaches a worker of any server).
   */
  readonly #shared: SharedClaims | undefined;

  constructor(deps: { store: SessionStore; logger: Logger; options?: Partial<HarnessOptions>; now?: () => number; sharedStore?: boolean }) {
    this.#store = deps.store;
    this.#log = deps.logger;
    this.#options = { ...defaultHarnessOptions, ...deps.options };
    this.#now = deps.now ?? Date.now;
    this.#shared = deps.sharedStore
      ? new SharedClaims({
          store: deps.store,
          logger: deps.logger,
          host: {
            book: this.#book,
            dispatch: () => this.#dispatch(),
            requeue: (record, where) => this.#requeue(record, where),
            adopt: (d) => this.#adopt(d),
            isWaking: (harnessId) => this.#waking.has(harnessId),
            isClosed: () => this.#closed,
          },
        })
      : undefined;
  }

  get options(): HarnessOptions {
    return this.#options;
  }

  /** Rebuilds the brains an earlier server dispatched (HARN-27), then starts the sweeper. */
  async start(): Promise<void> {
    this.#stopHints = this.#shared?.listen();
    const count = await this.#adoptRecords();
    if (count > 0) this.#log.info({ brains: count }, "resuming the brains an earlier server dispatched");
    this.#timer = setInterval(() => void this.sweep(), this.#options.sweepIntervalMs);
    this.#timer.unref();
    void this.sweep();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopHints?.();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#recheck) clearTimeout(this.#recheck);
    this.#workers.closeAll();
    await this.#sweeping;
  }

  /** HARN-1: idempotent; a live lease means a brain already works on the session. `trace`: the context the brain's trace continues. */
  async wake(ref: SessionRef, trace: Context = context.active()): Promise<WakeResult> {
    const sessionId = ref.sessionId;
    for (;;) {
      const session = await this.#store.getSession(ref);
      if (session.status === SessionStatus.TERMINATED) {
        throw new OmaError("SESSION_TERMINATED", `session ${sessionId} is terminated`, { session_id: sessionId });
      }
      annotateSpan({ [ATTR_SESSION_SEQ]: Number(session.headSeq) }, trace);
      if (session.lease) {
        return { harnessId: session.lease.holder, leaseEpoch: fromInt64(session.lease.epoch), alreadyRunning: true };
      }
      const harnessId = `hrn_${randomBytes(12).toString("hex")}`;
      let lease;
      this.#waking.add(harnessId);
      try {
        // The lease and the dispatch record are one durable write: once this returns, a
        // crash of this server cannot lose the Wake (HARN-27).
        lease = await this.#store.acquireLease(ref, harnessId, this.#options.leaseTtlMs, { dispatch: true });
      } catch (err) {
        this.#waking.delete(harnessId);
        if (isOmaError(err, "LEASE_HELD")) {
          // Another Wake won the race: report its brain once its lease is durable. Reading a
          // cached session needs no I/O, so wait a timer turn between reads: a loop of
          // microtasks alone would keep the winner's write from ever finishing.
          await sleep(LEASE_HELD_RETRY_MS);
          continue;
        }
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
        wakeSeq: fromInt64(session.headSeq),
        traceContext: carrierOf(trace),
      };
      this.#book.track(record);
      this.#waking.delete(harnessId);
      this.#waiting.push(harnessId);
      this.#dispatch();
      if (record.workerId === undefined) this.#shared?.announce(record);
      this.#log.info({ tenant: ref.tenant, sessionId, harnessId, epoch: record.epoch, workerId: record.workerId }, "woke session");
      return { harnessId, leaseEpoch: record.epoch, alreadyRunning: false };
    }
  }

  /** Live brains (lease not expired) of a tenant (or of all), ordered by harness id. */
  list(filter: { tenant?: string; sessionId?: string } = {}): HarnessRecord[] {
    const now = this.#now();
    return this.#book
      .all()
      .filter((h) => h.expireTime > now && (filter.tenant === undefined || h.tenant === filter.tenant) && (!filter.sessionId || h.sessionId === filter.sessionId))
      .sort(byHarnessId);
  }

  /**
   * Up to `limit` live brains after harness id `after`, in harness id order, as the store
   * sees them now: the expiry of each candidate's lease is read from the session (its brain
   * renews it there), not from the last sweep, which may lag behind on a busy server. What
   * ListHarnesses answers; it reads about one lease per brain it returns, not one per brain
   * the server knows.
   */
  async listLive(filter: { tenant?: string; sessionId?: string; after?: string; limit: number }): Promise<HarnessRecord[]> {
    const candidates = this.#book
      .all()
      .filter((h) => (filter.tenant === undefined || h.tenant === filter.tenant) && (!filter.sessionId || h.sessionId === filter.sessionId) && (filter.after === undefined || h.harnessId > filter.after))
      .sort(byHarnessId);
    const live: HarnessRecord[] = [];
    const chunk = Math.max(1, filter.limit);
    for (let i = 0; i < candidates.length && live.length < filter.limit; i += chunk) {
      const batch = candidates.slice(i, i + chunk);
      await Promise.all(
        batch.map(async (record) => {
          const lease = (await this.#store.getSession(refOf(record)).catch(() => undefined))?.lease;
          if (lease && fromInt64(lease.epoch) === record.epoch && lease.expireTime) record.expireTime = timestampMs(lease.expireTime);
        }),
      );
      const now = this.#now();
      live.push(...batch.filter((h) => h.expireTime > now));
    }
    return live.slice(0, filter.limit);
  }

  /** Live brains, brains waiting for a worker, connected workers: what an operator counts. */
  stats(): { brains: number; waiting: number; workers: number } {
    return { brains: this.list().length, waiting: this.#waiting.length, workers: this.#workers.size };
  }

  /**
   * HARN-3: registers a worker and yields its assignments and heartbeats until `signal`
   * aborts. A worker that connects again with the same id (in its tenant) replaces its old
   * stream. It receives only sessions of its tenant, or of every tenant when that is "*".
   */
  async *connectWorker(worker: WorkerAnnouncement, signal: AbortSignal): AsyncGenerator<WorkerMessage> {
    const conn = this.#workers.connect(worker);
    const onAbort = () => conn.queue.close();
    signal.addEventListener("abort", onAbort);
    this.#log.info({ workerId: worker.workerId, tenant: worker.tenant, capacity: worker.capacity }, "worker connected");
    this.#dispatch();
    try {
      // An immediate heartbeat tells the worker it is registered.
      yield { kind: "heartbeat", assigned: conn.assigned.size };
      while (!conn.queue.closed && !this.#closed) {
        const record = await conn.queue.next(this.#options.heartbeatIntervalMs);
        if (record) yield { kind: "assignment", record, leaseTtlMs: this.#options.leaseTtlMs };
        else if (!conn.queue.closed) yield { kind: "heartbeat", assigned: conn.assigned.size };
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#workers.disconnect(conn);
      // Assignments the stream never carried go back to the queue, not to a lease timeout.
      for (const record of conn.queue.drain().reverse()) {
        if (this.#book.get(record.harnessId) !== record || this.#book.workerOf(record.harnessId) !== conn.key) continue;
        this.#book.unassign(record, conn);
        this.#requeue(record, "unshift");
      }
      this.#log.info({ workerId: worker.workerId }, "worker disconnected");
      this.#dispatch();
    }
  }

  /** One pass over every brain: renew queued leases, and settle or re-wake ended ones. */
  sweep(): Promise<void> {
    if (this.#sweeping) return this.#sweeping;
    this.#sweeping = this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<void> {
    // On a shared store, a brain another server dispatched is watched here too: if that
    // server dies, its sessions are woken again by whichever server gets there first.
    if (this.#shared) await this.#adoptRecords().catch((err: unknown) => this.#log.warn({ err }, "reading the dispatch records failed; trying again at the next sweep"));
    for (const record of this.#book.all()) {
      if (this.#closed) return;
      // One session's trouble (a storage error, a race) must not stop the others: the
      // record stays, and the next sweep tries it again.
      // A failed storage was logged once where it failed; it is not repeated per session and sweep.
      await this.#check(record).catch((err: unknown) => {
        if (isOmaError(err, "STORAGE_FULL") || isOmaError(err, "STORAGE_UNAVAILABLE")) return;
        this.#log.warn({ err, sessionId: record.sessionId, harnessId: record.harnessId }, "checking a brain failed; trying again at the next sweep");
      });
    }
    this.#dispatch();
  }

  async #check(record: HarnessRecord): Promise<void> {
    if (this.#book.get(record.harnessId) !== record) return; // replaced during this sweep
    const ref = refOf(record);
    let session: Session;
    try {
      session = await this.#store.getSession(ref);
    } catch (err) {
      if (!isOmaError(err, "SESSION_NOT_FOUND")) throw err;
      this.#book.forget(record.harnessId); // deleted with its dispatch record
      return;
    }
    const lease = session.lease;
    if (lease && fromInt64(lease.epoch) === record.epoch) {
      record.expireTime = lease.expireTime ? timestampMs(lease.expireTime) : record.expireTime;
      if (record.workerId === undefined && record.expireTime - this.#now() < (this.#options.leaseTtlMs * 2) / 3) {
        // A brain that waits for a worker keeps its lease: the dispatcher renews it.
        await this.#store.renewLease(ref, record.epoch, this.#options.leaseTtlMs);
      }
      return;
    }
    if (lease || session.status === SessionStatus.TERMINATED) {
      // Someone else holds the session now (a client's own brain), or it is over.
      await this.#store.endDispatch(ref, record.harnessId);
      this.#book.forget(record.harnessId);
      return;
    }
    if (await this.#renewedMeanwhile(ref, record)) return;
    const outcome = await brainOutcome(this.#store, { ref, harnessId: record.harnessId, wakeSeq: record.wakeSeq });
    if (outcome === "never-started" || (outcome === "unfinished" && this.#options.autoRewake)) {
      const deps = { store: this.#store, logger: this.#log, now: this.#now, wake: (r: SessionRef, trace: Context) => this.wake(r, trace) };
      await inSpan("oma.rewake", { attributes: { [ATTR_SESSION_ID]: ref.sessionId } }, (_span, trace) => rewake(deps, record, session, outcome, trace));
    } else if (outcome !== "gone") {
      await this.#store.endDispatch(ref, record.harnessId);
    }
    this.#book.forget(record.harnessId);
  }

  /**
   * Whether the brain's lease lives after all. A read shows the session as durably
   * written, and a renewal the store took just before the old expiry may still be on its
   * way to disk: the brain then works on, and handing its session on would put a false
   * RESCHEDULING in the log and drop the record of a live brain (nobody would re-wake the
   * session when it died). The store's write path knows: renewing a lease that ended is
   * LEASE_LOST. A lease that lives is renewed once more, so a brain that died right after
   * its renewal is handed on at most one TTL later.
   */
  async #renewedMeanwhile(ref: SessionRef, record: HarnessRecord): Promise<boolean> {
    try {
      const lease = await this.#store.renewLease(ref, record.epoch, this.#options.leaseTtlMs);
      if (lease.expireTime) record.expireTime = timestampMs(lease.expireTime);
      return true;
    } catch (err) {
      if (isOmaError(err, "LEASE_LOST") || isOmaError(err, "SESSION_NOT_FOUND") || isOmaError(err, "SESSION_TERMINATED")) return false;
      throw err;
    }
  }

  /** Tracks every dispatch record not tracked yet; returns how many it found. */
  async #adoptRecords(): Promise<number> {
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await this.#store.listDispatches({ pageSize: START_PAGE, cursor });
      for (const record of page.dispatches) {
        if (this.#waking.has(record.harnessId)) continue; // this server's own Wake, about to be tracked
        const tracked = this.#book.get(record.harnessId);
        if (!tracked) this.#adopt(record);
        this.#shared?.settle(tracked ?? this.#book.get(record.harnessId)!, record.claimedBy);
      }
      count += page.dispatches.length;
      cursor = page.nextCursor;
    } while (cursor);
    return count;
  }

  /** A brain an earlier (or another) server dispatched: tracked like any, its worker unknown here. */
  #adopt(d: DispatchRecord): void {
    this.#book.track({ harnessId: d.harnessId, ...d.ref, epoch: d.epoch, workerId: "", startTime: d.wakeTime, expireTime: this.#now(), wakeSeq: d.wakeSeq, traceContext: {} });
  }

  /**
   * Back in the queue (its worker went away before its stream carried it). On a shared store
   * the claim is given back first, so that a server with a free worker may take the brain.
   */
  #requeue(record: HarnessRecord, where: "push" | "unshift"): void {
    const queue = () => {
      if (this.#book.get(record.harnessId) !== record) return; // ended meanwhile
      record.workerId = undefined;
      if (this.#waiting.includes(record.harnessId)) return;
      if (where === "unshift") this.#waiting.unshift(record.harnessId);
      else this.#waiting.push(record.harnessId);
    };
    if (!this.#shared) return queue();
    this.#shared.giveBack(record, queue);
  }

  /**
   * Hands waiting brains, in order, to the least loaded workers with room that serve their
   * tenant; a brain no such worker can take keeps its place.
   */
  #dispatch(): void {
    const stillWaiting: string[] = [];
    let full = false;
    for (const harnessId of new Set(this.#waiting.splice(0))) {
      const record = this.#book.get(harnessId);
      // Only a brain that waits (no worker, not being handed to one) is handed out, once.
      if (!record || record.workerId !== undefined) continue;
      const worker = this.#workers.pick(record.tenant);
      if (!worker) {
        full ||= this.#workers.anyServing(record.tenant);
        stillWaiting.push(harnessId);
        continue;
      }
      this.#book.assign(record, worker);
      if (this.#shared) {
        void this.#shared.claimThenHand(record, worker);
        continue;
      }
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
}
