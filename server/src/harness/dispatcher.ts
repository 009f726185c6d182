import { randomBytes } from "node:crypto";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { LeaseEndReason } from "@oma/client/gen/oma/v1/event_pb.js";
import { isOmaError, OmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import { sessionKey, type SessionRef } from "../store/session-ref.js";
import type { DispatchRecord, SessionStore } from "../store/session-store.js";
import { brainOutcome, type BrainOutcome } from "./brain-outcome.js";
import { defaultHarnessOptions, type HarnessOptions } from "./harness-options.js";
import { fromInt64 } from "./int64.js";
import { WorkerSet, type WorkerAnnouncement } from "./worker-set.js";
import { context, type Context } from "@opentelemetry/api";
import { annotateSpan, ATTR_SESSION_ID, ATTR_SESSION_SEQ, carrierOf, inSpan } from "../telemetry/tracing.js";

export type { WorkerAnnouncement } from "./worker-set.js";

/** How soon brains waiting for a full set of workers look for a freed slot. */
const FULL_RECHECK_MS = 100;
/** Dispatch records read per page at start. */
const START_PAGE = 500;

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
  /** Head of the log at the Wake; the brain's harness_started comes after it. */
  readonly wakeSeq: number;
  /** W3C trace context of the call that woke the brain (empty when nothing traces). */
  readonly traceContext: Readonly<Record<string, string>>;
}

/** What a worker's stream carries. */
export type WorkerMessage = { kind: "assignment"; record: HarnessRecord } | { kind: "heartbeat"; assigned: number };

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
  readonly #harnesses = new Map<string, HarnessRecord>();
  /** Harness id by session key (session-ref.ts). */
  readonly #bySession = new Map<string, string>();
  /** The key of the worker each dispatched brain went to. */
  readonly #workerOf = new Map<string, string>();
  readonly #workers = new WorkerSet<HarnessRecord>();
  readonly #waiting: string[] = [];
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
  readonly #sharedStore: boolean;
  /** This dispatcher's name in the claims of dispatch records (one per process). */
  readonly #serverId = `dsp_${randomBytes(8).toString("hex")}`;

  constructor(deps: { store: SessionStore; logger: Logger; options?: Partial<HarnessOptions>; now?: () => number; sharedStore?: boolean }) {
    this.#store = deps.store;
    this.#sharedStore = deps.sharedStore ?? false;
    this.#log = deps.logger;
    this.#options = { ...defaultHarnessOptions, ...deps.options };
    this.#now = deps.now ?? Date.now;
  }

  get options(): HarnessOptions {
    return this.#options;
  }

  /** Rebuilds the brains an earlier server dispatched (HARN-27), then starts the sweeper. */
  async start(): Promise<void> {
    if (this.#sharedStore) this.#stopHints = this.#store.dispatchHints?.listen((d) => this.#onHint(d));
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
        wakeSeq: fromInt64(session.headSeq),
        traceContext: carrierOf(trace),
      };
      this.#track(record);
      this.#waking.delete(harnessId);
      this.#waiting.push(harnessId);
      this.#dispatch();
      if (record.workerId === undefined) this.#announce(record);
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
   * Up to `limit` live brains after harness id `after`, in harness id order, as the store
   * sees them now: the expiry of each candidate's lease is read from the session (its brain
   * renews it there), not from the last sweep, which may lag behind on a busy server. What
   * ListHarnesses answers; it reads about one lease per brain it returns, not one per brain
   * the server knows.
   */
  async listLive(filter: { tenant?: string; sessionId?: string; after?: string; limit: number }): Promise<HarnessRecord[]> {
    const candidates = [...this.#harnesses.values()]
      .filter((h) => (filter.tenant === undefined || h.tenant === filter.tenant) && (!filter.sessionId || h.sessionId === filter.sessionId) && (filter.after === undefined || h.harnessId > filter.after))
      .sort((a, b) => (a.harnessId < b.harnessId ? -1 : a.harnessId > b.harnessId ? 1 : 0));
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
        if (record) yield { kind: "assignment", record };
        else if (!conn.queue.closed) yield { kind: "heartbeat", assigned: conn.assigned.size };
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#workers.disconnect(conn);
      // Assignments the stream never carried go back to the queue, not to a lease timeout.
      for (const record of conn.queue.drain().reverse()) {
        if (this.#harnesses.get(record.harnessId) !== record || this.#workerOf.get(record.harnessId) !== conn.key) continue;
        conn.assigned.delete(record.harnessId);
        this.#workerOf.delete(record.harnessId);
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
    if (this.#sharedStore) await this.#adoptRecords().catch((err: unknown) => this.#log.warn({ err }, "reading the dispatch records failed; trying again at the next sweep"));
    for (const record of [...this.#harnesses.values()]) {
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
    if (this.#harnesses.get(record.harnessId) !== record) return; // replaced during this sweep
    const ref = refOf(record);
    let session: Session;
    try {
      session = await this.#store.getSession(ref);
    } catch (err) {
      if (!isOmaError(err, "SESSION_NOT_FOUND")) throw err;
      this.#forget(record.harnessId); // deleted with its dispatch record
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
      this.#forget(record.harnessId);
      return;
    }
    const outcome = await brainOutcome(this.#store, { ref, harnessId: record.harnessId, wakeSeq: record.wakeSeq });
    if (outcome === "never-started" || (outcome === "unfinished" && this.#options.autoRewake)) {
      await inSpan("oma.rewake", { attributes: { [ATTR_SESSION_ID]: ref.sessionId } }, (_span, trace) => this.#rewake(record, session, outcome, trace));
    } else if (outcome !== "gone") {
      await this.#store.endDispatch(ref, record.harnessId);
    }
    this.#forget(record.harnessId);
  }

  /** Hands the session of a brain that ended to a successor, saying why in the log. */
  async #rewake(dead: HarnessRecord, session: Session, outcome: BrainOutcome, trace: Context): Promise<void> {
    const ended = dead.expireTime > this.#now() ? "released its lease" : "let its lease expire";
    const who = `brain ${dead.harnessId} (worker ${dead.workerId || "unknown"}, epoch ${dead.epoch})`;
    const detail =
      outcome === "never-started"
        ? `${who} ${ended} before it started; the session was woken and is owed a brain, so a successor takes it`
        : `${who} ${ended} with work left; handing the session to a successor`;
    // Only if nothing was appended since the check, so it never lands inside a brain's work.
    const ref = refOf(dead);
    await this.#store
      .append(ref, [create(EventSchema, { payload: { case: "statusChanged", value: { status: SessionStatus.RESCHEDULING, detail, endedLease: endedLease(dead, this.#now()) } } })], {
        expectedHeadSeq: fromInt64(session.headSeq),
      })
      .catch((err: unknown) => {
        if (!isOmaError(err, "HEAD_SEQ_MISMATCH")) throw err;
      });
    let woke: WakeResult;
    try {
      woke = await this.wake(ref, trace);
    } catch (err) {
      if (!isOmaError(err, "SESSION_NOT_FOUND") && !isOmaError(err, "SESSION_TERMINATED")) throw err;
      return;
    }
    // A brain someone else started meanwhile has the session: the old record is done.
    if (woke.alreadyRunning) await this.#store.endDispatch(ref, dead.harnessId);
    this.#log.warn({ tenant: dead.tenant, sessionId: dead.sessionId, harnessId: woke.harnessId, epoch: woke.leaseEpoch, dead: dead.harnessId, outcome }, "woke a session again");
  }

  /** Tracks every dispatch record not tracked yet; returns how many it found. */
  async #adoptRecords(): Promise<number> {
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await this.#store.listDispatches({ pageSize: START_PAGE, cursor });
      for (const record of page.dispatches) {
        if (this.#waking.has(record.harnessId)) continue; // this server's own Wake, about to be tracked
        const tracked = this.#harnesses.get(record.harnessId);
        if (!tracked) this.#adopt(record);
        if (this.#sharedStore) this.#settleClaim(tracked ?? this.#harnesses.get(record.harnessId)!, record.claimedBy);
      }
      count += page.dispatches.length;
      cursor = page.nextCursor;
    } while (cursor);
    return count;
  }

  /** A brain an earlier (or another) server dispatched: tracked like any, its worker unknown here. */
  #adopt(d: DispatchRecord): void {
    this.#track({ harnessId: d.harnessId, ...d.ref, epoch: d.epoch, workerId: "", startTime: d.wakeTime, expireTime: this.#now(), wakeSeq: d.wakeSeq, traceContext: {} });
  }

  /**
   * On a shared store, what another server's claim (or its absence) means here: a brain no
   * server has handed to a worker waits for a worker here too; one another server claimed
   * is only watched here (its lease, its end).
   */
  #settleClaim(record: HarnessRecord, claimedBy: string | undefined): void {
    if (claimedBy === undefined && record.workerId === "") {
      record.workerId = undefined;
      if (!this.#waiting.includes(record.harnessId)) this.#waiting.push(record.harnessId);
    } else if (claimedBy !== undefined && claimedBy !== this.#serverId && record.workerId === undefined) {
      record.workerId = "";
      const i = this.#waiting.indexOf(record.harnessId);
      if (i >= 0) this.#waiting.splice(i, 1);
    } else if (claimedBy === this.#serverId && record.workerId === undefined) {
      // Claimed here but waiting (a claim whose answer was lost): given back, so it cannot
      // wait here forever for a worker while another server has room.
      void this.#store.claimDispatch(refOf(record), record.harnessId, this.#serverId, undefined).catch(() => undefined);
    }
  }

  /**
   * Back in the queue (its worker went away before its stream carried it). On a shared store
   * the claim is given back first, so that a server with a free worker may take the brain.
   */
  #requeue(record: HarnessRecord, where: "push" | "unshift"): void {
    const queue = () => {
      if (this.#harnesses.get(record.harnessId) !== record) return; // ended meanwhile
      record.workerId = undefined;
      if (this.#waiting.includes(record.harnessId)) return;
      if (where === "unshift") this.#waiting.unshift(record.harnessId);
      else this.#waiting.push(record.harnessId);
    };
    if (!this.#sharedStore) return queue();
    // Waiting again only once the claim is given back: a claim of this server's that is
    // still in the store would let its next claim succeed while another server takes the
    // brain on the given-back record. Meanwhile it is nobody's ("").
    record.workerId = "";
    void this.#store.claimDispatch(refOf(record), record.harnessId, this.#serverId, undefined).then(
      () => {
        queue();
        this.#announce(record);
        this.#dispatch();
      },
      (err: unknown) => {
        // Kept here, still claimed: this server hands it to a worker of its own when one has room.
        this.#log.warn({ err, sessionId: record.sessionId, harnessId: record.harnessId }, "giving back a dispatch claim failed");
        queue();
        this.#dispatch();
      },
    );
  }

  /** Shared store: tells the other servers that this brain waits for a worker, so that one with room claims it now. */
  #announce(record: HarnessRecord): void {
    if (!this.#sharedStore) return;
    this.#store.dispatchHints?.announce({ ref: refOf(record), harnessId: record.harnessId, epoch: record.epoch, wakeSeq: record.wakeSeq, wakeTime: record.startTime });
  }

  /**
   * A hint that a brain waits for a worker somewhere: with room here, and the session's
   * lease still that brain's, it waits here too and is claimed like any (the claim decides
   * which server's worker gets it).
   */
  #onHint(d: DispatchRecord): void {
    if (this.#closed || !this.#workers.hasRoom(d.ref.tenant)) return;
    void this.#store.getSession(d.ref).then(
      (session) => {
        const lease = session.lease;
        if (this.#closed || this.#waking.has(d.harnessId) || !lease || lease.holder !== d.harnessId || fromInt64(lease.epoch) !== d.epoch) return;
        const tracked = this.#harnesses.get(d.harnessId);
        if (!tracked) {
          this.#adopt(d);
          this.#settleClaim(this.#harnesses.get(d.harnessId)!, undefined);
        } else if (tracked.workerId === "") this.#settleClaim(tracked, undefined);
        this.#dispatch();
      },
      () => undefined, // gone, or the store failed: the sweep sees to it
    );
  }

  /**
   * Shared store: claims the brain's record for this server, then hands it to the worker
   * (already counted as the worker's). Lost to another server: only watched here from now on.
   */
  async #claimThenHand(record: HarnessRecord, worker: { key: string }): Promise<void> {
    let claimed: boolean;
    try {
      claimed = await this.#store.claimDispatch(refOf(record), record.harnessId, undefined, this.#serverId);
    } catch (err) {
      // Maybe written, maybe not: it waits here, and the sweep settles the claim either way.
      this.#log.warn({ err, sessionId: record.sessionId, harnessId: record.harnessId }, "claiming a dispatch record failed; trying again at the next sweep");
      if (this.#workerOf.get(record.harnessId) === worker.key) {
        this.#unassign(record);
        record.workerId = undefined;
        this.#waiting.push(record.harnessId);
      }
      return;
    }
    if (this.#harnesses.get(record.harnessId) !== record || this.#workerOf.get(record.harnessId) !== worker.key) return; // ended meanwhile
    const conn = this.#workers.get(worker.key);
    if (!claimed) {
      this.#unassign(record);
      record.workerId = "";
    } else if (!conn) {
      this.#unassign(record);
      this.#requeue(record, "unshift");
    } else {
      conn.queue.push(record);
      this.#log.info({ tenant: record.tenant, sessionId: record.sessionId, harnessId: record.harnessId, workerId: conn.workerId }, "assigned brain to worker");
      return;
    }
    this.#dispatch();
  }

  /** Takes a brain off the worker it was counted against. */
  #unassign(record: HarnessRecord): void {
    const key = this.#workerOf.get(record.harnessId);
    this.#workerOf.delete(record.harnessId);
    if (key !== undefined) this.#workers.get(key)?.assigned.delete(record.harnessId);
  }

  #track(record: HarnessRecord): void {
    const key = sessionKey(record);
    const previous = this.#bySession.get(key);
    if (previous) this.#forget(previous);
    this.#harnesses.set(record.harnessId, record);
    this.#bySession.set(key, record.harnessId);
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

  /**
   * Hands waiting brains, in order, to the least loaded workers with room that serve their
   * tenant; a brain no such worker can take keeps its place.
   */
  #dispatch(): void {
    const stillWaiting: string[] = [];
    let full = false;
    for (const harnessId of new Set(this.#waiting.splice(0))) {
      const record = this.#harnesses.get(harnessId);
      // Only a brain that waits (no worker, not being handed to one) is handed out, once.
      if (!record || record.workerId !== undefined) continue;
      const worker = this.#workers.pick(record.tenant);
      if (!worker) {
        full ||= this.#workers.anyServing(record.tenant);
        stillWaiting.push(harnessId);
        continue;
      }
      record.workerId = worker.workerId;
      worker.assigned.add(harnessId);
      this.#workerOf.set(harnessId, worker.key);
      if (this.#sharedStore) {
        void this.#claimThenHand(record, worker);
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

/** The session a brain works on. */
function refOf(record: { tenant: string; sessionId: string }): SessionRef {
  return { tenant: record.tenant, sessionId: record.sessionId };
}

/** HARN-24: the RESCHEDULING status names the brain whose lease ended, and how. */
function endedLease(dead: HarnessRecord, now: number) {
  return {
    harnessId: dead.harnessId,
    leaseEpoch: BigInt(dead.epoch),
    workerId: dead.workerId ?? "",
    // Gone before its expiry: the brain released it; otherwise it stopped renewing it.
    reason: dead.expireTime > now ? LeaseEndReason.RELEASED : LeaseEndReason.EXPIRED,
  };
}
