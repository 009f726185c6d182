import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { OmaClient } from "@oma/client";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { EventOrder } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { Outage } from "./server-supervisor.js";
import type { FaultRecord } from "./faults/fault.js";
import { briefEvent } from "./event-brief.js";
import type { SessionRun } from "./workload.js";

/** How often the monitor lists the sessions. */
const POLL_MS = 500;

/** How long sessions hit by one fault took to make progress again. */
export interface Recovery {
  readonly fault: FaultRecord;
  /** From the fault's end (or the server's return) until every affected session's log grew; undefined if some never did. */
  ms: number | undefined;
  readonly pending: Set<string>;
}

/**
 * Watches liveness from outside, by polling ListSessions (not through the workload's own
 * watchers): a session with a turn in flight whose log does not grow for longer than the
 * bound while the server serves is a stall. Time the server did not serve (killed,
 * paused, NOT_SERVING) is not counted. It also times each fault's recovery.
 */
export class Monitor {
  readonly #client: () => Promise<OmaClient>;
  readonly #runs: readonly SessionRun[];
  readonly #outages: readonly Outage[];
  readonly #label: Record<string, string>;
  readonly #boundMs: number;
  readonly #heads = new Map<string, { head: number; since: number }>();
  readonly recoveries: Recovery[] = [];
  /** Longest time without progress seen per session while it had a turn in flight. */
  readonly longestStall = new Map<string, number>();
  readonly stalls: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(options: { client: () => Promise<OmaClient>; runs: readonly SessionRun[]; outages: readonly Outage[]; label: Record<string, string>; boundMs: number }) {
    this.#client = options.client;
    this.#runs = options.runs;
    this.#outages = options.outages;
    this.#label = options.label;
    this.#boundMs = options.boundMs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Starts timing a fault's recovery: its affected sessions still in flight must grow their logs. */
  track(fault: FaultRecord): void {
    const inFlight = new Set(this.#runs.filter((r) => r.outstanding).map((r) => r.sessionId));
    const r: Recovery = { fault, ms: undefined, pending: new Set(fault.affected.filter((s) => inFlight.has(s))) };
    if (r.pending.size === 0) r.ms = 0;
    this.recoveries.push(r);
  }

  /**
   * A session's log grew at `at` (its watcher saw an event), or its turn ended: it counts
   * as recovered from every fault that had ended by then.
   */
  progress(sessionId: string, at: number): void {
    for (const r of this.recoveries) {
      if (at < r.fault.endedAt || !r.pending.delete(sessionId) || r.pending.size > 0) continue;
      const back = Math.max(r.fault.endedAt, ...this.#outages.filter((o) => o.to !== undefined && o.to <= at).map((o) => o.to!));
      r.ms = Math.max(0, at - back);
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const now = Date.now();
      if (this.#outages.some((o) => o.to === undefined)) return; // the server is away: nothing to judge
      const client = await this.#client();
      const heads = new Map<string, number>();
      let pageToken = "";
      do {
        const page = await client.sessions.listSessions({ pageSize: 1000, pageToken, labels: this.#label }, { timeoutMs: 5_000 });
        for (const s of page.sessions) heads.set(s.sessionId, Number(s.headSeq));
        pageToken = page.nextPageToken;
      } while (pageToken);
      const at = Date.now(); // after the listing: a fault that ended meanwhile counts from its end
      const back = Math.max(0, ...this.#outages.map((o) => o.to ?? at));
      for (const run of this.#runs) {
        const head = heads.get(run.sessionId);
        if (head === undefined) continue;
        const seen = this.#heads.get(run.sessionId);
        if (!seen || head > seen.head) {
          this.#heads.set(run.sessionId, { head, since: at });
          continue;
        }
        if (!run.outstanding) continue;
        const idleFor = at - Math.max(seen.since, back, run.lastProgressAt);
        this.longestStall.set(run.sessionId, Math.max(this.longestStall.get(run.sessionId) ?? 0, idleFor));
        if (idleFor > this.#boundMs && !this.stalls.some((s) => s.startsWith(`${run.sessionId}:`))) {
          const state = await describeState(client, run.sessionId, now).catch((err: unknown) => `state unreadable: ${String(err)}`);
          this.stalls.push(`${run.sessionId}: no progress for ${idleFor} ms with a turn in flight (bound ${this.#boundMs} ms), head ${head}; ${state}`);
        }
      }
    } catch {
      // the server went away mid-poll; the next poll judges again
    } finally {
      this.#polling = false;
    }
  }
}

/** What a stalled session looks like from outside: its status and lease, its brain, the end of its log. */
async function describeState(client: OmaClient, sessionId: string, now: number): Promise<string> {
  const ago = (t: Timestamp | undefined) => (t ? `${((now - timestampMs(t)) / 1000).toFixed(1)} s ago` : "never");
  const { session } = await client.sessions.getSession({ sessionId });
  const { harnesses } = await client.harness.listHarnesses({ pageSize: 1000 });
  const brain = harnesses.find((h) => h.sessionId === sessionId);
  const { events } = await client.sessions.getEvents({ sessionId, order: EventOrder.DESCENDING, limit: 6 });
  const tail = events.reverse().map((e) => `${briefEvent(e)} ${ago(e.createTime)}`);
  return [
    `status ${SessionStatus[session?.status ?? 0]}`,
    `lease ${session?.lease ? `epoch ${session.lease.epoch} held by ${session.lease.holder}, expires in ${((timestampMs(session.lease.expireTime!) - now) / 1000).toFixed(1)} s` : "none"}`,
    `brain ${brain ? `${brain.harnessId} epoch ${brain.leaseEpoch} on ${brain.workerId || "no worker yet"}, started ${ago(brain.startTime)}` : "none"}`,
    `log ends ${tail.join(", ")}`,
  ].join("; ");
}
