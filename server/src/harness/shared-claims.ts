import { randomBytes } from "node:crypto";
import type { Logger } from "../logger.js";
import type { DispatchRecord, SessionStore } from "../store/session-store.js";
import { refOf, type BrainBook, type HarnessRecord } from "./brain-book.js";
import { fromInt64 } from "./int64.js";

/** What the claims need of the dispatcher they serve. */
export interface ClaimsHost {
  readonly book: BrainBook;
  /** Hands waiting brains to workers with room. */
  dispatch(): void;
  /** Back in the queue, its claim given back first (see `giveBack`). */
  requeue(record: HarnessRecord, where: "push" | "unshift"): void;
  /** Tracks a brain another server dispatched, its worker unknown here. */
  adopt(d: DispatchRecord): void;
  /** A Wake in flight here, between taking the lease and tracking the brain. */
  isWaking(harnessId: string): boolean;
  isClosed(): boolean;
}

/**
 * The dispatcher's part on a store other servers share: a brain goes to a worker only once
 * this server has claimed its dispatch record (compare-and-set in the store), so that a
 * Wake on any server reaches a worker of any server and each brain goes to one worker. A
 * record nobody has claimed waits here too; one another server claimed is only watched
 * here. Servers tell each other of a brain that waits by dispatch hints (not stored).
 */
export class SharedClaims {
  readonly #store: SessionStore;
  readonly #log: Logger;
  readonly #host: ClaimsHost;
  /** This dispatcher's name in the claims of dispatch records (one per process). */
  readonly serverId = `dsp_${randomBytes(8).toString("hex")}`;

  constructor(deps: { store: SessionStore; logger: Logger; host: ClaimsHost }) {
    this.#store = deps.store;
    this.#log = deps.logger;
    this.#host = deps.host;
  }

  /**
   * What another server's claim (or its absence) means here: a brain no server has handed
   * to a worker waits for a worker here too; one another server claimed is only watched
   * here (its lease, its end).
   */
  settle(record: HarnessRecord, claimedBy: string | undefined): void {
    const { book } = this.#host;
    if (claimedBy === undefined && record.workerId === "") {
      record.workerId = undefined;
      if (!book.waiting.includes(record.harnessId)) book.waiting.push(record.harnessId);
    } else if (claimedBy !== undefined && claimedBy !== this.serverId && record.workerId === undefined) {
      record.workerId = "";
      book.stopWaiting(record.harnessId);
    } else if (claimedBy === this.serverId && record.workerId === undefined) {
      // Claimed here but waiting (a claim whose answer was lost): given back, so it cannot
      // wait here forever for a worker while another server has room.
      void this.#store.claimDispatch(refOf(record), record.harnessId, this.serverId, undefined).catch(() => undefined);
    }
  }

  /**
   * Gives the brain's claim back, then `queue`s it: a claim of this server's that is still
   * in the store would let its next claim succeed while another server takes the brain on
   * the given-back record. Meanwhile it is nobody's ("").
   */
  giveBack(record: HarnessRecord, queue: () => void): void {
    record.workerId = "";
    void this.#store.claimDispatch(refOf(record), record.harnessId, this.serverId, undefined).then(
      () => {
        queue();
        this.announce(record);
        this.#host.dispatch();
      },
      (err: unknown) => {
        // Kept here, still claimed: this server hands it to a worker of its own when one has room.
        this.#log.warn({ err, sessionId: record.sessionId, harnessId: record.harnessId }, "giving back a dispatch claim failed");
        queue();
        this.#host.dispatch();
      },
    );
  }

  /** Tells the other servers that this brain waits for a worker, so that one with room claims it now. */
  announce(record: HarnessRecord): void {
    this.#store.dispatchHints?.announce({ ref: refOf(record), harnessId: record.harnessId, epoch: record.epoch, wakeSeq: record.wakeSeq, wakeTime: record.startTime });
  }

  /** Hears the other servers' hints until the returned function is called. */
  listen(): (() => void) | undefined {
    return this.#store.dispatchHints?.listen((d) => this.#onHint(d));
  }

  /**
   * A hint that a brain waits for a worker somewhere: with room here, and the session's
   * lease still that brain's, it waits here too and is claimed like any (the claim decides
   * which server's worker gets it).
   */
  #onHint(d: DispatchRecord): void {
    const host = this.#host;
    if (host.isClosed() || !host.book.workers.hasRoom(d.ref.tenant)) return;
    void this.#store.getSession(d.ref).then(
      (session) => {
        const lease = session.lease;
        if (host.isClosed() || host.isWaking(d.harnessId) || !lease || lease.holder !== d.harnessId || fromInt64(lease.epoch) !== d.epoch) return;
        const tracked = host.book.get(d.harnessId);
        if (!tracked) {
          host.adopt(d);
          this.settle(host.book.get(d.harnessId)!, undefined);
        } else if (tracked.workerId === "") this.settle(tracked, undefined);
        host.dispatch();
      },
      () => undefined, // gone, or the store failed: the sweep sees to it
    );
  }

  /**
   * Claims the brain's record for this server, then hands it to the worker (already
   * counted as the worker's). Lost to another server: only watched here from now on.
   */
  async claimThenHand(record: HarnessRecord, worker: { key: string }): Promise<void> {
    const { book } = this.#host;
    let claimed: boolean;
    try {
      claimed = await this.#store.claimDispatch(refOf(record), record.harnessId, undefined, this.serverId);
    } catch (err) {
      // Maybe written, maybe not: it waits here, and the sweep settles the claim either way.
      this.#log.warn({ err, sessionId: record.sessionId, harnessId: record.harnessId }, "claiming a dispatch record failed; trying again at the next sweep");
      if (book.workerOf(record.harnessId) === worker.key) {
        book.unassign(record);
        record.workerId = undefined;
        book.waiting.push(record.harnessId);
      }
      return;
    }
    if (book.get(record.harnessId) !== record || book.workerOf(record.harnessId) !== worker.key) return; // ended meanwhile
    const conn = book.workers.get(worker.key);
    if (!claimed) {
      book.unassign(record);
      record.workerId = "";
    } else if (!conn) {
      book.unassign(record);
      this.#host.requeue(record, "unshift");
    } else {
      conn.queue.push(record);
      this.#log.info({ tenant: record.tenant, sessionId: record.sessionId, harnessId: record.harnessId, workerId: conn.workerId }, "assigned brain to worker");
      return;
    }
    this.#host.dispatch();
  }
}
