import type { WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { RpcFailure } from "../../client/rpc-failure.js";
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
  ) {
    const onCaseAbort = () => this.stop.abort();
    ctx.signal.addEventListener("abort", onCaseAbort, { once: true });
    const stream = ctx.rpc.serverStream(H.connectWorker, { workerId, capacity, labels: { role: "oma-conformance" } }, { signal: this.stop.signal });
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

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
