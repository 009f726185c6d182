import { withRetries, type OmaClient } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { logInvariants } from "@oma/server/dist/harness/testing/log-invariants.js";
import { briefTail } from "./event-brief.js";
import type { SessionRun } from "./workload.js";

/** A broken rule, named by the invariant it breaks. */
export interface Breach {
  readonly invariant: "settled" | "log" | "acknowledged" | "watch" | "tools" | "liveness" | "memory" | "leaks";
  readonly detail: string;
}

/** What the tools check found, for the report. */
export interface ToolCount {
  sandboxesRead: number;
  sandboxesLost: number;
  toolsVerified: number;
}

/**
 * The checks' reads retry transient failures: the last fault may have restarted the server
 * moments before, and a call on a connection still in its reconnect backoff fails at once
 * (UNAVAILABLE). A read that keeps failing fails the run.
 */
const read = <T>(call: (options: { timeoutMs?: number; signal?: AbortSignal }) => Promise<T>) => withRetries(call, { maxAttempts: 10 });

/** Every event of a session, page by page. */
export async function readLog(client: OmaClient, sessionId: string): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const res = await read((call) => client.sessions.getEvents({ sessionId, afterSeq: BigInt(out.length), limit: 1000 }, call));
    out.push(...res.events);
    if (res.events.length === 0 || out.length >= Number(res.headSeq)) return out;
  }
}

/**
 * The session ended its last turn: IDLE, no lease, the log closed by that IDLE with a
 * stop reason (END_TURN, or a reason such as RETRIES_EXHAUSTED whose cause is in the log).
 * A brain releases its lease after it writes IDLE; one that died (or whose release met a
 * dead server) in between leaves the lease to expire. So the lease must be gone by
 * `leaseGoneBy` (a lease TTL and more after the turn ended), not at once.
 */
export async function checkSettled(client: OmaClient, run: SessionRun, log: readonly Event[], leaseGoneBy: number): Promise<Breach[]> {
  const getSession = () => read((call) => client.sessions.getSession({ sessionId: run.sessionId }, call));
  let { session } = await getSession();
  while (session?.lease && Date.now() < leaseGoneBy) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    ({ session } = await getSession());
  }
  const last = log.at(-1)?.payload;
  const idle = session?.status === SessionStatus.IDLE && !session.lease && last?.case === "statusChanged" && last.value.status === SessionStatus.IDLE;
  if (!idle) {
    const lease = session?.lease ? `held by ${session.lease.holder} epoch ${session.lease.epoch}` : "none";
    return [{ invariant: "settled", detail: `${run.sessionId}: status ${SessionStatus[session?.status ?? 0]}, lease ${lease}, log ends ${briefTail(log, 8)}` }];
  }
  if (last.value.stopReason === StopReason.UNSPECIFIED) return [{ invariant: "settled", detail: `${run.sessionId}: idle without a stop reason` }];
  if (last.value.stopReason !== StopReason.END_TURN && !log.some((e) => e.payload.case === "error")) {
    return [{ invariant: "settled", detail: `${run.sessionId}: ended ${StopReason[last.value.stopReason]} with no error event saying why` }];
  }
  return [];
}

/** Gapless seqs, one result per tool call, every acknowledged message where it was acknowledged, the watcher's view equal to the log. */
export function checkLog(run: SessionRun, log: readonly Event[]): Breach[] {
  const breaches: Breach[] = logInvariants(log).problems.map((p) => ({ invariant: "log" as const, detail: `${run.sessionId}: ${p}` }));
  for (const a of run.acked) {
    const e = log[a.seq - 1];
    if (!e || e.id !== a.id) breaches.push({ invariant: "acknowledged", detail: `${run.sessionId}: acknowledged event ${a.id} at seq ${a.seq} is ${e ? `replaced by ${e.id}` : "missing"}` });
  }
  for (const p of run.watchProblems) breaches.push({ invariant: "watch", detail: `${run.sessionId}: ${p}` });
  run.watched.forEach((e, i) => {
    if (log[i]?.id !== e.id) breaches.push({ invariant: "watch", detail: `${run.sessionId}: the watcher saw ${e.id} at seq ${i + 1}, the log has ${log[i]?.id ?? "nothing"}` });
  });
  if (run.watched.length < log.length) breaches.push({ invariant: "watch", detail: `${run.sessionId}: the watcher delivered ${run.watched.length} of ${log.length} events` });
  return breaches;
}

/**
 * Each tool call appends its marker to calls.txt in its sandbox: a marker appears at most
 * once in any sandbox, and a call recorded as run (no error) in a sandbox that is still
 * alive appears there exactly once.
 */
export async function checkTools(client: OmaClient, logs: ReadonlyMap<string, readonly Event[]>, count: ToolCount): Promise<Breach[]> {
  const breaches: Breach[] = [];
  const contents = new Map<string, Map<string, number> | "lost">();
  for (const log of logs.values()) {
    for (const e of log) {
      if (e.payload.case !== "sandboxProvisioned" || contents.has(e.payload.value.sandboxId)) continue;
      const sandboxId = e.payload.value.sandboxId;
      const markers = await client.sandboxes.execute({ sandboxId, name: "bash", input: { command: "cat calls.txt 2>/dev/null; true" } }).then(
        (r) => r.output.split("\n").filter(Boolean),
        () => undefined,
      );
      if (!markers) {
        contents.set(sandboxId, "lost");
        count.sandboxesLost++;
        continue;
      }
      count.sandboxesRead++;
      const seen = new Map<string, number>();
      for (const m of markers) seen.set(m, (seen.get(m) ?? 0) + 1);
      for (const [m, n] of seen) if (n > 1) breaches.push({ invariant: "tools", detail: `${m} ran ${n} times in ${sandboxId}` });
      contents.set(sandboxId, seen);
    }
  }
  for (const [sessionId, log] of logs) {
    const uses = new Map<string, string>();
    for (const e of log) {
      const p = e.payload;
      if (p.case === "toolUse") uses.set(p.value.toolUseId, markerOf(p.value.input));
      if (p.case !== "toolResult" || p.value.isError) continue;
      const seen = contents.get(p.value.sandboxId);
      const marker = uses.get(p.value.toolUseId);
      if (!seen || seen === "lost" || !marker) continue;
      count.toolsVerified++;
      const n = seen.get(marker) ?? 0;
      if (n !== 1) breaches.push({ invariant: "tools", detail: `${sessionId}: ${marker} has a result from ${p.value.sandboxId}, which holds it ${n} times` });
    }
  }
  return breaches;
}

/** `echo <marker> >> calls.txt` → marker. */
function markerOf(input: unknown): string {
  const command = String((input as { command?: unknown } | undefined)?.command ?? "");
  return /^echo (\S+) >>/.exec(command)?.[1] ?? "";
}
