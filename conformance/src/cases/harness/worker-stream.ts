import type { WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { RpcFailure } from "../../client/rpc-failure.js";
import { S } from "../session/session-helpers.js";
import { H } from "./harness-helpers.js";

/**
 * A worker the suite itself connects with `ConnectWorker` (HARN-16), to drive the worker
 * protocol from outside as a brain in another language would. It collects what the server
 * sends; every wait on it is bounded.
 */
export class SuiteWorker {
  readonly heartbeats: number[] = [];
  private readonly assignments: WorkAssignment[] = [];
  private readonly stop = new AbortController();
  private wake: (() => void) | undefined;
  private ended: unknown = undefined;
  private readonly pump: Promise<void>;

  constructor(
    ctx: CaseContext,
    readonly workerId: string,
    readonly capacity: number,
    /** The client it connects with (another token than the run's, e.g. a tenant's worker token). */
    client = ctx.rpc,
  ) {
    const onCaseAbort = () => this.stop.abort();
    ctx.signal.addEventListener("abort", onCaseAbort, { once: true });
    const stream = client.serverStream(H.connectWorker, { workerId, capacity, labels: { role: "oma-conformance" } }, { signal: this.stop.signal });
    this.pump = (async () => {
      try {
        for await (const m of stream) {
          if (m.message.case === "assignment") this.assignments.push(m.message.value);
          else if (m.message.case === "heartbeat") this.heartbeats.push(Date.now());
          this.notify();
        }
        this.ended = "the ConnectWorker stream ended";
      } catch (err) {
        this.ended = err instanceof RpcFailure && this.stop.signal.aborted ? "closed by the suite" : err;
      } finally {
        ctx.signal.removeEventListener("abort", onCaseAbort);
        this.notify();
      }
    })();
  }

  /** Assignments received so far that `wanted` accepts are taken out and the first returned; waits up to `withinMs`. */
  async next(wanted: (a: WorkAssignment) => boolean, withinMs: number): Promise<WorkAssignment | undefined> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const i = this.assignments.findIndex(wanted);
      if (i >= 0) return this.assignments.splice(i, 1)[0];
      if (this.ended !== undefined) throw new Error(`the worker stream is gone: ${describe(this.ended)}`);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** How the stream ended (undefined while it is open), waiting up to `withinMs` for it. */
  async endWithin(withinMs: number): Promise<unknown> {
    const deadline = Date.now() + withinMs;
    while (this.ended === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.ended;
  }

  /** Assignments received and not taken (e.g. for sessions of other clients). */
  get untaken(): readonly WorkAssignment[] {
    return this.assignments;
  }

  /** Closes the stream, which withdraws the worker (HARN-20). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.pump;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** The TTL the suite's worker renews with: SESS-16's default, valid on every target. */
const RENEW_TTL_MS = 30_000;
/** How soon a renewal that failed without LEASE_LOST is tried again. */
const RETRY_MS = 200;

/**
 * Keeps an assignment's lease, as a brain does from the moment it is handed the session
 * (HARN-17): renews it at once with a TTL of its own choosing (the time left on the
 * assignment may be a second or less), then every third of that TTL, trying a failed
 * renewal again until the lease is lost, until the returned function is called.
 */
export function keepLeaseAlive(ctx: CaseContext, a: WorkAssignment): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const renew = () => {
    if (stopped || ctx.signal.aborted) return;
    ctx.rpc.unary(S.renewLease, { sessionId: a.sessionId, epoch: a.leaseEpoch, ttl: { seconds: BigInt(RENEW_TTL_MS / 1000) } }).then(
      () => schedule(RENEW_TTL_MS / 3),
      (err: unknown) => {
        if (!(err instanceof RpcFailure && err.reason === "LEASE_LOST")) schedule(RETRY_MS);
      },
    );
  };
  const schedule = (ms: number) => {
    if (!stopped) timer = setTimeout(renew, ms);
  };
  renew();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
