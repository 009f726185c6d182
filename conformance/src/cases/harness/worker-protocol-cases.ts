import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { WakeResponse, WorkAssignment } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { statusChanged, type EventInit } from "../events.js";
import { readAll, S } from "../session/session-helpers.js";
import { H, ofKind, say, scriptedSession, text } from "./harness-helpers.js";
import { keepLeaseAlive, SuiteWorker } from "./worker-stream.js";

/** Sessions the case woke, by id, with what Wake answered. */
type Woken = Map<string, WakeResponse>;

const REPLY = "written by the suite's own worker";

/**
 * Does a brain's job for one assignment with nothing but the public API (HARN-3, HARN-17):
 * reads the log, renews the lease, appends a whole turn carrying the lease epoch, and
 * releases the lease.
 */
async function serve(ctx: CaseContext, worker: SuiteWorker, a: WorkAssignment, renewing = keepLeaseAlive(ctx, a)): Promise<void> {
  const sessionId = a.sessionId;
  const log = await readAll(ctx, sessionId);
  check(ofKind(log, "userMessage").length > 0, `the log of ${sessionId} the worker was handed has no user message`);
  const renewed = await ctx.rpc.unary(S.renewLease, { sessionId, epoch: a.leaseEpoch, ttl: { seconds: 30n } });
  check(renewed.lease && renewed.lease.epoch === a.leaseEpoch, "RenewLease with the assignment's epoch must keep that epoch");
  const turn: EventInit[] = [
    { payload: { case: "harnessStarted", value: { harnessId: a.harnessId, leaseEpoch: a.leaseEpoch, resumedAfterSeq: log.at(-1)?.seq ?? 0n, workerId: worker.workerId } } },
    statusChanged(SessionStatus.RUNNING),
    { payload: { case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: REPLY } } }] } } },
    statusChanged(SessionStatus.IDLE, StopReason.END_TURN),
  ];
  await ctx.rpc.unary(S.emitEvents, { sessionId, events: turn, leaseEpoch: a.leaseEpoch, idempotencyKey: `turn:${a.harnessId}` });
  renewing();
  await ctx.rpc.unary(S.releaseLease, { sessionId, epoch: a.leaseEpoch });
}

/** Waits (bounded) until a session's turn is done, serving it if the suite's worker is handed it. */
async function untilServed(ctx: CaseContext, worker: SuiteWorker, sessionId: string): Promise<void> {
  const deadline = Date.now() + ctx.scaled(30_000);
  for (;;) {
    const handed = await worker.next((a) => a.sessionId === sessionId, 200);
    if (handed) return serve(ctx, worker, handed);
    const session = (await ctx.rpc.unary(S.getSession, { sessionId })).session;
    if (session?.status === SessionStatus.IDLE && ofKind(await readAll(ctx, sessionId), "agentMessage").length > 0) return;
    check(Date.now() < deadline, `session ${sessionId} was neither finished by the target nor handed to the suite's worker within 30 s`);
  }
}

/** The first message of a ConnectWorker stream, or its error. */
async function firstOf(ctx: CaseContext, request: { workerId: string; capacity: number }): Promise<unknown> {
  const stop = new AbortController();
  try {
    for await (const m of ctx.rpc.serverStream(H.connectWorker, request, { signal: stop.signal })) return m;
    return "the stream ended without a message";
  } finally {
    stop.abort();
  }
}

export const workerProtocolCases: ConformanceCase[] = [
  {
    id: "harness/HARN-16/worker-ids-capacity-and-reconnect",
    requirement: "HARN-16",
    level: "MUST",
    feature: "harness.core",
    // Runs alone: a worker of the suite's is never handed another case's session.
    exclusive: true,
    timeoutMs: 30_000,
    title: "ConnectWorker refuses malformed worker ids and a negative capacity (INVALID_FIELD); a worker that connects again with its id replaces its earlier stream, which ends",
    async run(ctx) {
      for (const workerId of ["", ".hidden", "-dash", "a/b", "has space", "x".repeat(129)]) {
        await expectFailure(firstOf(ctx, { workerId, capacity: 1 }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "worker_id" }, `ConnectWorker with worker_id ${JSON.stringify(workerId.slice(0, 20))}`);
      }
      await expectFailure(firstOf(ctx, { workerId: ctx.uniqueId("w"), capacity: -1 }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "capacity" }, "ConnectWorker with capacity -1");
      const id = ctx.uniqueId("suite-worker");
      const earlier = new SuiteWorker(ctx, id, 1);
      let later: SuiteWorker | undefined;
      try {
        // The earlier stream is registered once the server has sent on it (a heartbeat).
        const deadline = Date.now() + ctx.scaled(12_000);
        while (earlier.heartbeats.length === 0 && (await earlier.endWithin(100)) === undefined) check(Date.now() < deadline, "no heartbeat on the first ConnectWorker stream within 12 s");
        later = new SuiteWorker(ctx, id, 1);
        const ended = await earlier.endWithin(ctx.scaled(10_000));
        check(ended !== undefined, "the earlier stream of a worker that connected again with its id must end");
        check((await later.endWithin(ctx.scaled(500))) === undefined, "the later stream must stay open");
      } finally {
        await earlier.close();
        await later?.close();
      }
    },
  },
  {
    id: "harness/HARN-17/suite-worker-runs-a-brain",
    requirement: "HARN-17",
    level: "MUST",
    feature: "harness.core",
    needs: ["harness"],
    // Runs alone: a worker of the suite's with room would otherwise be handed other cases' sessions.
    exclusive: true,
    title:
      "a worker the suite connects (capacity 1) is handed a woken session with Wake's harness id and epoch, gets no second one while it runs it, and completes the turn through the public API",
    timeoutMs: 90_000,
    async run(ctx) {
      const worker = new SuiteWorker(ctx, ctx.uniqueId("suite-worker"), 1);
      const connectedAt = Date.now();
      const woken: Woken = new Map();
      const wakeOne = async (reply: string) => {
        // Slow replies keep the target's own workers busy, so a worker with room is wanted.
        const { sessionId } = await scriptedSession(ctx, byStep([{ ...text(reply), latency: { firstByteMs: 1500 } }]));
        await say(ctx, sessionId, "hello");
        woken.set(sessionId, await ctx.rpc.unary(H.wake, { sessionId }));
        return sessionId;
      };
      const ours = (a: WorkAssignment) => woken.has(a.sessionId);
      try {
        let first: WorkAssignment | undefined;
        for (let i = 0; i < 12 && !first; i++) {
          await wakeOne("served by one of the target's workers");
          first = await worker.next(ours, ctx.scaled(2000));
        }
        check(first, `no assignment reached the suite's idle worker (capacity 1) in ${woken.size} wakes`);
        const renewing = keepLeaseAlive(ctx, first);
        const wake = woken.get(first.sessionId)!;
        checkEqual(first.harnessId, wake.harnessId, "assignment harness_id (Wake's)");
        checkEqual(first.leaseEpoch, wake.leaseEpoch, "assignment lease_epoch (Wake's)");
        check(first.leaseExpireTime && timestampMs(first.leaseExpireTime) > Date.now(), "the assignment's lease_expire_time must lie ahead");
        const ttlMs = first.leaseTtl ? durationMs(first.leaseTtl) : 0;
        check(ttlMs >= 1_000 && ttlMs <= 600_000, `the assignment's lease_ttl must be the TTL its lease was granted with, within SESS-16's 1 s to 10 min (got ${ttlMs} ms)`);
        const listed = (await ctx.rpc.unary(H.listHarnesses, { sessionId: first.sessionId })).harnesses[0];
        checkEqual(listed?.workerId, worker.workerId, "ListHarnesses worker_id of the assigned brain");

        // HARN-16: never more than `capacity` brains at once to one worker.
        await wakeOne("served while the suite's worker is full");
        const extra = await worker.next(() => true, ctx.scaled(2000));
        check(extra === undefined, `a second assignment (${extra?.sessionId}) reached a worker of capacity 1 that still runs one`);

        await serve(ctx, worker, first, renewing);
        const session = (await ctx.rpc.unary(S.getSession, { sessionId: first.sessionId })).session;
        checkEqual(session?.status, SessionStatus.IDLE, "status of the session the suite's worker finished");
        const replies = ofKind(await readAll(ctx, first.sessionId), "agentMessage");
        const block = replies[0]?.content[0]?.block;
        check(replies.length === 1 && block?.case === "text" && block.value.text === REPLY, "the log must hold the suite worker's one reply");

        // The other sessions: served by the target's workers, or handed to ours once it has room.
        for (const sessionId of woken.keys()) {
          if (sessionId !== first.sessionId) await untilServed(ctx, worker, sessionId);
        }

        // HARN-16: heartbeats every few seconds.
        const waitUntil = connectedAt + ctx.scaled(12_000);
        while (worker.heartbeats.length === 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 100));
        check(worker.heartbeats.length > 0, "no heartbeat on the ConnectWorker stream within 12 s");
        for (const stray of worker.untaken) ctx.note(`the suite's worker was also handed ${stray.sessionId}, not one of this case's sessions`);
      } finally {
        await worker.close();
      }
    },
  },
];
