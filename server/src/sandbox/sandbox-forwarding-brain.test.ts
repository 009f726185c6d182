import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, describe, expect, it } from "vitest";
import { toInt64 } from "../harness/int64.js";
import { CLI_MAIN } from "../harness/testing/brain-fixture.js";
import { logInvariants } from "../harness/testing/log-invariants.js";
import { NatsCluster, natsUnavailable } from "../testing/nats-cluster.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// SBX-17 with a live brain: a session's sandbox is on server A (still up), and its next turn
// runs on a brain connected to server B, so every Execute of that turn reaches B and is
// forwarded to A. Two servers in this process on a 3-node cluster of their own (the
// dispatchers of other tests' servers must not claim this session), workers as real CLI
// processes, the scripted model over HTTP.
const missing = natsUnavailable() ?? (existsSync(CLI_MAIN) ? undefined : `${CLI_MAIN} is missing: run tsc -b first`);
if (missing) console.warn(`!!! SKIPPED the live brain on B with a sandbox on A: ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function startWorker(server: TestApp, id: string, token: string, model: ScriptedModel): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, "worker", "--server", server.url, "--id", id], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, OMA_TOKEN: token, ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn" },
  });
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => line.startsWith("OMA_WORKER_CONNECTED") && resolve(child));
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

describe.skipIf(missing !== undefined)("a brain on server B using a sandbox on a live server A (SBX-17)", () => {
  it("the turn's Execute calls go through B to A's sandbox, and the session completes with A's outputs", async () => {
    const note = `written-on-a-${randomUUID().slice(0, 8)}`;
    const model = await startScriptedModel({
      script: byStep([
        { content: [{ type: "tool_use", name: "bash", input: { command: `echo ${note} > note.txt && echo wrote` } }] },
        { content: [{ type: "text", text: "first turn done" }] },
        { content: [{ type: "tool_use", name: "bash", input: { command: "cat note.txt" } }] },
      ]),
    });
    cleanup.push(() => model.close());
    const cluster = await NatsCluster.start(3);
    cleanup.push(() => cluster.stop());
    const [a, b] = await Promise.all([0, 1].map(() => startTestApp({ store: cluster.url, sandboxBackend: "process" })));
    cleanup.push(() => a!.stop(), () => b!.stop());
    const sessions = a!.client(SessionService);
    const sessionId = `brain-on-b-${randomUUID()}`;
    await sessions.createSession({ sessionId, agent: { model: "scripted" } });
    const turn = async (text: string, worker: string) => {
      await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } } } });
      const woke = await a!.client(HarnessService).wake({ sessionId });
      for (let i = 0; i < 400; i++) {
        const { events } = await sessions.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 });
        const started = events.find((e) => e.payload.case === "harnessStarted" && e.payload.value.harnessId === woke.harnessId);
        const tail = events.at(-1)?.payload;
        if (started && tail?.case === "statusChanged" && tail.value.status === SessionStatus.IDLE) {
          expect(started.payload.case === "harnessStarted" && started.payload.value.workerId).toBe(worker);
          return events;
        }
        await sleep(50);
      }
      throw new Error(`the turn on ${worker} did not end`);
    };

    // Turn 1 on A's worker: the sandbox is provisioned through A, so it lives on A.
    const idA = `on-a-${randomUUID().slice(0, 8)}`;
    const workerA = await startWorker(a!, idA, (await a!.localWorkerToken())!, model);
    await turn("first", idA);
    const sandboxId = (await sessions.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 })).events.flatMap((e) => (e.payload.case === "sandboxProvisioned" ? [e.payload.value.sandboxId] : []));
    expect(sandboxId).toHaveLength(1);
    // Runs before the servers stop (cleanup runs last first), whatever the test's outcome.
    cleanup.push(() => a!.client(SandboxService).destroySandbox({ sandboxId: sandboxId[0]! }));
    expect((await a!.client(SandboxService).listSandboxes({})).sandboxes.map((s) => s.sandboxId)).toContain(sandboxId[0]);
    expect((await b!.client(SandboxService).listSandboxes({})).sandboxes.map((s) => s.sandboxId)).not.toContain(sandboxId[0]);
    workerA.kill("SIGTERM");
    await once(workerA, "exit");

    // Turn 2 on B's worker, A still up: the brain's Execute goes to B, which forwards it to A.
    const idB = `on-b-${randomUUID().slice(0, 8)}`;
    await startWorker(b!, idB, (await b!.localWorkerToken())!, model);
    const events: Event[] = await turn("second", idB);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    expect(results.map((r) => [r.output.trim(), r.isError, r.sandboxId])).toEqual([
      ["wrote", false, sandboxId[0]],
      [note, false, sandboxId[0]],
    ]);
    expect(events.filter((e) => e.payload.case === "sandboxProvisioned")).toHaveLength(1);
    const last = events.at(-1)?.payload;
    expect(last?.case === "statusChanged" && last.value.stopReason).toBe(StopReason.END_TURN);
    expect(logInvariants(events).problems).toEqual([]);
  }, 60_000);
});
