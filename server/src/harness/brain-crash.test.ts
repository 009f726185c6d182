import { execFileSync } from "node:child_process";
import { byStep, type RecordedRequest, type ScriptedResponse } from "@oma/conformance/scripted-model";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// HARN-2, HARN-5, HARN-6, HARN-8: brains and sandboxes die; sessions do not.
const available = new Map(backendsUnderTest().map((b) => [b.name, b]));
const bwrap = available.get("bubblewrap")!;
const docker = available.get("docker")!;
announceSkips("brain crash recovery", [bwrap, docker]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bash call that takes a while and leaves one line per run, named by its tool_use id. */
const sideEffect = (step: number) => (req: RecordedRequest): ScriptedResponse => {
  const id = `toolu_r${req.index}_s${step}`;
  return { content: [{ type: "tool_use", id, name: "bash", input: { command: `sleep 0.15; echo ${id} >> runs.log` } }] };
};

let fx: BrainFixture;
beforeAll(async () => {
  fx = await BrainFixture.start({
    model: { script: byStep([sideEffect(0), sideEffect(1), sideEffect(2)], { content: [{ type: "text", text: "done" }] }), latency: { firstByteMs: 40, perChunkMs: 2 } },
  });
  await Promise.all([fx.startWorker(), fx.startWorker()]);
});
afterAll(async () => fx?.stop());

async function untilEvents(sessionId: string, count: number): Promise<void> {
  for (let waited = 0; (await fx.events(sessionId)).length < count; waited += 10) {
    if (waited > 30_000) throw new Error(`${sessionId} never reached ${count} events`);
    await sleep(10);
  }
}

async function runsLog(sandboxId: string): Promise<string[]> {
  const res = await fx.sandboxes.execute({ sandboxId, name: "bash", input: { command: "cat runs.log 2>/dev/null || true" } });
  return res.output.split("\n").filter((l) => l.startsWith("toolu_"));
}

describe.skipIf(!bwrap.available)("SIGKILL of the worker mid-session (bubblewrap)", () => {
  // Ten turns, each cut once and finished by a successor after a 1 s lease: bounded generously.
  it("HARN-5/HARN-6: ten kills at different points; every session completes with a gapless log and each tool run once", { timeout: 180_000 }, async () => {
    let kills = 0;
    for (let i = 0; i < 10; i++) {
      const sessionId = await fx.createSession({ sandbox: { backend: "bubblewrap" } }, `crash run ${i}`);
      const before = (await fx.events(sessionId)).length;
      const woken = await fx.harness.wake({ sessionId });
      // The kills are placed by progress, not by time: run i kills the brain once the turn has
      // written i + 1 events (harness_started, the model's answers, tool calls and results),
      // so on a slow machine they still land at ten different points inside the turn.
      await untilEvents(sessionId, before + 1 + i);
      const victim = await fx.workerOf(sessionId);
      let killedMidTurn = false;
      if (victim) {
        await fx.kill(victim);
        fx.workers.splice(fx.workers.indexOf(victim), 1);
        void fx.startWorker();
        // Idle right after the kill (before any lease could expire): the brain had finished.
        killedMidTurn = (await fx.sessions.getSession({ sessionId })).session?.status !== SessionStatus.IDLE;
        if (killedMidTurn) kills++;
      }
      expect(await fx.waitIdle(sessionId, 0, 30_000)).toBe(StopReason.END_TURN);

      const events = await fx.events(sessionId);
      const { toolUseIds, problems } = logInvariants(events);
      expect(problems, `run ${i}`).toEqual([]);
      expect(toolUseIds).toHaveLength(3);
      const sandboxIds = new Set(events.flatMap((e) => (e.payload.case === "sandboxProvisioned" ? [e.payload.value.sandboxId] : [])));
      expect(sandboxIds.size, `run ${i}: one sandbox, reused by the successor`).toBe(1);
      const lines = await runsLog([...sandboxIds][0]!);
      expect(lines.sort(), `run ${i}: each recorded tool_use ran exactly once`).toEqual([...toolUseIds].sort());
      if (killedMidTurn) {
        // The killed brain may have died before it wrote harness_started; its successor did not.
        const starts = events.flatMap((e) => (e.payload.case === "harnessStarted" ? [e.payload.value.harnessId] : []));
        expect(starts.some((h) => h !== woken.harnessId), `run ${i}: a successor took over`).toBe(true);
      }
    }
    expect(kills).toBeGreaterThanOrEqual(8);
  });
});

describe.skipIf(!bwrap.available)("a paused brain whose lease expired (bubblewrap)", () => {
  it("HARN-2: after SIGSTOP and takeover, SIGCONT lets the stale brain write nothing (LEASE_LOST)", async () => {
    const local = await BrainFixture.start({
      model: { script: byStep([sideEffect(0), sideEffect(1)], { content: [{ type: "text", text: "done" }] }), latency: { firstByteMs: 60 } },
    });
    try {
      const stale = await local.startWorker();
      const sessionId = await local.createSession({ sandbox: { backend: "bubblewrap" } }, "pause me");
      await local.harness.wake({ sessionId });
      for (;;) {
        const events = await local.events(sessionId);
        if (events.some((e) => e.payload.case === "toolUse")) break;
        await sleep(20);
      }
      expect((await local.workerOf(sessionId))?.id).toBe(stale.id);
      stale.child.kill("SIGSTOP");
      await local.startWorker();
      expect(await local.waitIdle(sessionId, 0, 30_000)).toBe(StopReason.END_TURN);
      const takeover = await local.events(sessionId);
      expect(takeover.filter((e) => e.payload.case === "harnessStarted")).toHaveLength(2);

      stale.child.kill("SIGCONT");
      const deadline = Date.now() + 15_000;
      while (!stale.logs.some((l) => l.includes("lease lost")) && Date.now() < deadline) await sleep(50);
      expect(stale.logs.some((l) => l.includes("lease lost"))).toBe(true);
      const after = await local.events(sessionId);
      expect(after).toHaveLength(takeover.length);
      expect(logInvariants(after).problems).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});

describe.skipIf(!docker.available)("the sandbox's container is killed mid-session (docker)", () => {
  it("HARN-8: the model sees a tool error, a fresh sandbox serves the next call, the session completes", async () => {
    const local = await BrainFixture.start({
      model: {
        script: byStep([
          { content: [{ type: "tool_use", name: "bash", input: { command: "echo one > f.txt" } }] },
          { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 5; cat f.txt" } }] },
          { content: [{ type: "tool_use", name: "bash", input: { command: "echo fresh" } }] },
          { content: [{ type: "text", text: "recovered" }] },
        ]),
      },
    });
    try {
      await local.startWorker();
      const sessionId = await local.createSession({ sandbox: { backend: "docker" } }, "survive");
      await local.harness.wake({ sessionId });
      let sandboxId = "";
      for (;;) {
        const events = await local.events(sessionId);
        const uses = events.filter((e) => e.payload.case === "toolUse");
        const p = events.find((e) => e.payload.case === "sandboxProvisioned")?.payload;
        if (p?.case === "sandboxProvisioned") sandboxId = p.value.sandboxId;
        if (uses.length >= 2) break;
        await sleep(20);
      }
      await sleep(300); // the sleep is running inside the container
      const ids = execFileSync("docker", ["ps", "-q", "--filter", `label=dev.oma.sandbox=${sandboxId}`], { encoding: "utf8" }).trim();
      expect(ids).not.toBe("");
      execFileSync("docker", ["kill", ...ids.split("\n")]);
      expect(await local.waitIdle(sessionId, 0, 60_000)).toBe(StopReason.END_TURN);

      const events = await local.events(sessionId);
      expect(logInvariants(events).problems).toEqual([]);
      const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
      expect(results.map((r) => r.isError)).toEqual([false, true, false]);
      expect(results[2]!.output).toContain("fresh");
      const provisioned = events.flatMap((e) => (e.payload.case === "sandboxProvisioned" ? [e.payload.value] : []));
      expect(provisioned).toHaveLength(2);
      expect(provisioned[1]!.replacesSandboxId).toBe(sandboxId);
      expect(results[2]!.sandboxId).toBe(provisioned[1]!.sandboxId);
      const lastRequest = local.model.requests.at(-1)!;
      expect(JSON.stringify(lastRequest.body.messages)).toContain("SANDBOX_");
    } finally {
      await local.stop();
    }
  });
});
