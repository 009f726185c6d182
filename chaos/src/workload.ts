import type { OmaClient } from "@oma/client";
import { isTransientFailure, userText } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { setTimeout as sleep } from "node:timers/promises";

/** A user message the server acknowledged: it must be in the final log at this seq. */
export interface Acked {
  readonly seq: number;
  readonly id: string;
}

/** One session of the workload: what was sent, what was seen, how its turns ended. */
export interface SessionRun {
  readonly sessionId: string;
  readonly backend: string;
  turns: number;
  readonly acked: Acked[];
  /** Every event the session's watcher delivered, across dropped streams, in order. */
  readonly watched: Event[];
  readonly watchProblems: string[];
  readonly stopReasons: StopReason[];
  /** A turn was sent and has not ended. */
  outstanding: boolean;
  /** Last time its log grew (or its turn began), ms since the epoch. */
  lastProgressAt: number;
}

/** The text of turn n of a session: the scripted model reads the session id back from it. */
export const turnText = (sessionId: string, turn: number) => `${sessionId} turn ${turn}`;

/**
 * N sessions, each running turn after turn until the chaos ends: a user message (keyed,
 * so a retry across a restart cannot duplicate it), a Wake, then the watcher waits for the
 * turn's IDLE. Every call is retried while the server is away. Each session's watcher
 * records every event it delivers; dropping the watchers is one of the faults.
 */
export class Workload {
  readonly runs: SessionRun[] = [];
  readonly #client: () => OmaClient;
  readonly #label: Record<string, string>;
  readonly #watchers = new Map<string, AbortController>();
  readonly #turnEnded = new Map<string, () => void>();
  #loops: Promise<void>[] = [];
  #stopAt = 0;
  #closed = false;

  /** Told of every event a watcher delivers (the monitor times recoveries with it). */
  onProgress: (sessionId: string, at: number) => void = () => undefined;

  constructor(client: () => OmaClient, label: Record<string, string>) {
    this.#client = client;
    this.#label = label;
  }

  async createSessions(count: number, backends: readonly string[], runId: string): Promise<void> {
    for (let i = 0; i < count; i++) {
      const sessionId = `chaos-${runId}-${String(i).padStart(3, "0")}`;
      const backend = backends[i % backends.length]!;
      await this.#retry(() => this.#client().sessions.createSession({ sessionId, labels: this.#label, agent: { model: "scripted", sandbox: { backend } } }));
      this.runs.push({ sessionId, backend, turns: 0, acked: [], watched: [], watchProblems: [], stopReasons: [], outstanding: false, lastProgressAt: Date.now() });
    }
  }

  /** Runs turns until `stopAt` (each session at least one); the returned promise ends with the last turn. */
  start(stopAt: number): void {
    this.#stopAt = stopAt;
    for (const run of this.runs) this.#watch(run);
    this.#loops = this.runs.map((run) => this.#loop(run));
  }

  /** Waits for every session's last turn to end, or until `deadline`. */
  async settle(deadline: number): Promise<void> {
    await Promise.race([Promise.all(this.#loops), sleep(Math.max(0, deadline - Date.now()))]);
  }

  /** Cuts every watch stream; each resumes after the last event it delivered. */
  dropWatches(): number {
    const runs = this.runs.filter((r) => this.#watchers.has(r.sessionId));
    for (const run of runs) {
      this.#watchers.get(run.sessionId)?.abort();
      this.#watch(run);
    }
    return runs.length;
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers.values()) w.abort();
    for (const wake of this.#turnEnded.values()) wake();
  }

  async #loop(run: SessionRun): Promise<void> {
    while (!this.#closed && (run.turns === 0 || Date.now() < this.#stopAt)) {
      const turn = run.turns + 1;
      run.outstanding = true;
      run.lastProgressAt = Date.now();
      const ended = new Promise<void>((resolve) => this.#turnEnded.set(run.sessionId, resolve));
      const res = await this.#retry(() => this.#client().sessions.emit(run.sessionId, userText(turnText(run.sessionId, turn)), { idempotencyKey: `turn-${turn}` }));
      const event = res.event!;
      run.acked.push({ seq: Number(event.seq), id: event.id });
      run.turns = turn;
      await this.#retry(() => this.#client().harness.wake({ sessionId: run.sessionId }));
      await ended;
      run.outstanding = false;
    }
  }

  #watch(run: SessionRun): void {
    const abort = new AbortController();
    this.#watchers.set(run.sessionId, abort);
    const afterSeq = run.watched.length;
    void (async () => {
      try {
        for await (const event of this.#client().sessions.watch(run.sessionId, { afterSeq, signal: abort.signal, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } })) {
          const seq = Number(event.seq);
          if (seq !== run.watched.length + 1) run.watchProblems.push(`watch delivered seq ${seq} after ${run.watched.length}`);
          else run.watched.push(event);
          run.lastProgressAt = Date.now();
          this.onProgress(run.sessionId, run.lastProgressAt);
          const p = event.payload;
          const lastUser = run.acked.at(-1)?.seq ?? Number.POSITIVE_INFINITY;
          if (p.case === "statusChanged" && p.value.status === SessionStatus.IDLE && seq > lastUser) {
            run.stopReasons.push(p.value.stopReason);
            this.#turnEnded.get(run.sessionId)?.();
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) run.watchProblems.push(`watch ended: ${(err as Error).message}`);
      }
    })();
  }

  /** Repeats a call while the server is away (restarting, paused, not serving). */
  async #retry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (this.#closed || !(isTransientFailure(err) || isStorageRefusal(err))) throw err;
        await sleep(Math.min(1_000, 50 * 2 ** attempt));
      }
    }
  }
}

/** The server's storage failed: it will be restarted, after which the call can be repeated. */
function isStorageRefusal(err: unknown): boolean {
  const reason = (err as { reason?: string } | undefined)?.reason;
  return reason === "STORAGE_FULL" || reason === "STORAGE_UNAVAILABLE";
}
