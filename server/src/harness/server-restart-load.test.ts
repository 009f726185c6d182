import { randomUUID } from "node:crypto";
import { byStep, firstUserText, startScriptedModel, type RecordedRequest, type ScriptedModel } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { childPids, waitGone } from "../testing/process-tree.js";
import { startServerProcess, type ServerProcess } from "../testing/server-process.js";
import { tempDir } from "../testing/temp-dir.js";
import { fromInt64, toInt64 } from "./int64.js";
import { logInvariants } from "./testing/log-invariants.js";

// HARN-27 with many sessions in flight: `oma serve --workers 2` runs 20 sessions at once
// (some brains working, the rest queued behind the workers' capacity), is SIGKILLed and
// started again on the same data. Before dispatch state lived in the store, the queued
// Wakes died with the server (those sessions stayed IDLE with only their message) and the
// local workers outlived it, reconnecting forever.
const bwrap = backendsUnderTest().find((b) => b.name === "bubblewrap")!;
announceSkips("many sessions across a server SIGKILL", [bwrap]);

const SESSIONS = 20;
const LEASE_TTL_MS = 2_000;
let model: ScriptedModel | undefined;
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  await model?.close();
  await dir?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each session's tool calls write a line naming the session and the step into the sandbox. */
const step = (n: number) => (req: RecordedRequest) => ({
  content: [{ type: "tool_use" as const, name: "bash", input: { command: `echo ${firstUserText(req.body)}-${n} >> calls.txt; sleep 0.2` } }],
});

describe.skipIf(!bwrap.available)("many sessions across a SIGKILL of the server (bubblewrap)", () => {
  it("HARN-27: every woken session finishes after the restart, each tool once; the killed server's workers die with it", async () => {
    model = await startScriptedModel({ script: byStep([step(1), step(2)]), latency: { firstByteMs: 100 } });
    dir = await tempDir("oma-restart-load-");
    const args = ["--workers", "2", "--sandbox-backend", "bubblewrap", "--lease-ttl-ms", String(LEASE_TTL_MS)];
    const env = { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url };
    let server = await startServerProcess(dir.path, { args, env });
    servers.push(server);
    const sessions = server.client(SessionService);
    const ids = Array.from({ length: SESSIONS }, (_, i) => `load-${i}-${randomUUID().slice(0, 8)}`);
    for (const sessionId of ids) {
      await sessions.createSession({ sessionId, agent: { model: "scripted" } });
      await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: sessionId } } }] } } } });
    }
    const harness = server.client(HarnessService);
    await Promise.all(ids.map((sessionId) => harness.wake({ sessionId })));
    // Kill while some brains work and others wait for a worker slot (2 workers × 4).
    for (let i = 0; i < 400; i++) {
      const { harnesses } = await harness.listHarnesses({ pageSize: 1000 });
      if (harnesses.filter((h) => ids.includes(h.sessionId) && h.workerId).length >= 4) break;
      await sleep(25);
    }
    const workers = childPids(server.pid, / worker --server /);
    expect(workers.length).toBe(2);
    await server.kill();
    await waitGone(workers, 10_000); // local workers die with their server, even on SIGKILL

    server = await startServerProcess(dir.path, { args, env });
    servers.push(server);
    const restarted = server.client(SessionService);
    const logs = new Map<string, Event[]>();
    const deadline = Date.now() + 120_000;
    while (logs.size < ids.length && Date.now() < deadline) {
      for (const sessionId of ids.filter((id) => !logs.has(id))) {
        const { session } = await restarted.getSession({ sessionId });
        if (session?.status !== SessionStatus.IDLE || session.lease || fromInt64(session.headSeq) <= 1) continue;
        const { events } = await restarted.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 });
        const last = events.at(-1)?.payload;
        if (last?.case === "statusChanged" && last.value.status === SessionStatus.IDLE) logs.set(sessionId, events);
      }
      await sleep(200);
    }
    expect(ids.filter((id) => !logs.has(id))).toEqual([]);
    for (const [sessionId, events] of logs) {
      const last = events.at(-1)?.payload;
      expect(last?.case === "statusChanged" && last.value.stopReason, sessionId).toBe(StopReason.END_TURN);
      const { toolUseIds, problems } = logInvariants(events);
      expect(problems, sessionId).toEqual([]);
      expect(toolUseIds, sessionId).toHaveLength(2);
    }

    // A clean shutdown waits for its workers: none is left once the server has exited.
    const secondWorkers = childPids(server.pid, / worker --server /);
    expect(secondWorkers.length).toBe(2);
    await server.stop();
    await waitGone(secondWorkers, 1_000);
  }, 180_000);
});
