import { sessionKey, type SessionRef } from "../store/session-ref.js";
import type { WorkerSet } from "./worker-set.js";

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

/**
 * The dispatcher's memory of brains: every brain it tracks (one per session), the worker
 * each was handed to, and the brains waiting for a worker, in order. Only what a starting
 * dispatcher rebuilds from the dispatch records, plus the connected workers' counts.
 */
export class BrainBook {
  readonly #harnesses = new Map<string, HarnessRecord>();
  /** Harness id by session key (session-ref.ts). */
  readonly #bySession = new Map<string, string>();
  /** The key of the worker each dispatched brain went to. */
  readonly #workerOf = new Map<string, string>();
  readonly workers: WorkerSet<HarnessRecord>;
  /** Harness ids of the brains that wait for a worker, first come first. */
  readonly waiting: string[] = [];

  constructor(workers: WorkerSet<HarnessRecord>) {
    this.workers = workers;
  }

  get(harnessId: string): HarnessRecord | undefined {
    return this.#harnesses.get(harnessId);
  }

  all(): HarnessRecord[] {
    return [...this.#harnesses.values()];
  }

  /** The key of the worker the brain was handed to, if any. */
  workerOf(harnessId: string): string | undefined {
    return this.#workerOf.get(harnessId);
  }

  /** Counts the brain against the worker it is being handed to. */
  assign(record: HarnessRecord, worker: { key: string; workerId: string; assigned: Set<string> }): void {
    record.workerId = worker.workerId;
    worker.assigned.add(record.harnessId);
    this.#workerOf.set(record.harnessId, worker.key);
  }

  /**
   * Takes a brain off the worker it was counted against: the connection of that worker now,
   * or `from`, one that has just disconnected.
   */
  unassign(record: HarnessRecord, from?: { assigned: Set<string> }): void {
    const key = this.#workerOf.get(record.harnessId);
    this.#workerOf.delete(record.harnessId);
    if (from) from.assigned.delete(record.harnessId);
    else if (key !== undefined) this.workers.get(key)?.assigned.delete(record.harnessId);
  }

  /** No longer waiting for a worker here. */
  stopWaiting(harnessId: string): void {
    const i = this.waiting.indexOf(harnessId);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Tracks a brain; one that the session had before is forgotten. */
  track(record: HarnessRecord): void {
    const key = sessionKey(record);
    const previous = this.#bySession.get(key);
    if (previous) this.forget(previous);
    this.#harnesses.set(record.harnessId, record);
    this.#bySession.set(key, record.harnessId);
  }

  forget(harnessId: string): void {
    const record = this.#harnesses.get(harnessId);
    if (!record) return;
    this.#harnesses.delete(harnessId);
    const key = sessionKey(record);
    if (this.#bySession.get(key) === harnessId) this.#bySession.delete(key);
    this.unassign(record);
    this.stopWaiting(harnessId);
  }
}

/** The session a brain works on. */
export function refOf(record: { tenant: string; sessionId: string }): SessionRef {
  return { tenant: record.tenant, sessionId: record.sessionId };
}

/** Harness id order. */
export function byHarnessId(a: HarnessRecord, b: HarnessRecord): number {
  return a.harnessId < b.harnessId ? -1 : a.harnessId > b.harnessId ? 1 : 0;
}
