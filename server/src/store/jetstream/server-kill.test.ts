import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, describe, expect, it } from "vitest";
import { fromInt64, toInt64 } from "../../harness/int64.js";
import { CLI_MAIN } from "../../harness/testing/brain-fixture.js";
import { logInvariants } from "../../harness/testing/log-invariants.js";
import { announceSkips, backendsUnderTest } from "../../sandbox/sandbox-test-support.js";
import { removeSandboxDir } from "../../sandbox/workspace-disk.js";
import { NatsCluster, natsUnavailable, TEST_VAULT_KEY } from "../../testing/nats-cluster.js";
import { tempDir } from "../../testing/temp-dir.js";

// Two OMA servers on one JetStream cluster. (1) Each with a worker of its own; the server whose
// brain runs the session is SIGKILLed mid-tool-call, and the other one finishes the session.
// (2) A Wake on a server with no worker runs on the worker connected to the other server.
const bwrap = backendsUnderTest().find((b) => b.name === "bubblewrap")!;
announceSkips("the OMA server kill test", [bwrap]);
const noNats = natsUnavailable();
if (noNats) console.warn(`!!! SKIPPED the OMA server kill test: ${noNats}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const processes: ChildProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const c of cleanup.reverse()) await c();
});

/** A CLI child process; resolves with it and the first line that starts with `ready`. */
function startProcess(args: string[], ready: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ["ignore", "pipe", "ignore"], env });
  processes.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready`)), 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith(ready)) {
        clearTimeout(timer);
        resolve({ child, line });
      }
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

describe.skipIf(!bwrap.available || noNats !== undefined)("an OMA server SIGKILLed mid-session beside another on one JetStream cluster", () => {
  it("HARN-5/HARN-27: the session woken on the killed server completes through the other one; the log stays gapless with one result per call", async () => {
    const model: ScriptedModel = await startScriptedModel({
      script: byStep([
        { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 0.6; echo one" } }] },
        { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 0.3; echo two" } }] },
      ]),
    });
    cleanup.push(() => model.close());
    // A cluster of its own: the dispatchers of other tests' servers must not see this session.
    const cluster = await NatsCluster.start(3);
    cleanup.push(() => cluster.stop());
    const env = { ...process.env, ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn", OMA_VAULT_KEY: TEST_VAULT_KEY };
    const serve = async () => {
      const dir = await tempDir("oma-server-kill-");
      // Its sandboxes' workspaces (each a mounted disk) live in its directory: a server
      // killed and never restarted leaves them mounted, and the test unmounts them.
      cleanup.push(() => removeSandboxDir(dir.path));
      await mkdir(join(dir.path, "data"));
      await chmod(dir.path, 0o711); // the sandbox's user reaches its workspace through it
      const args = ["serve", "--port", "0", "--data-dir", join(dir.path, "data"), "--workers", "0", "--sandbox-backend", "bubblewrap", "--lease-ttl-ms", "1000", "--auth", "none", "--store", cluster.url];
      const { child, line } = await startProcess(args, "OMA_LISTENING", { ...env, OMA_SANDBOX_ROOT: join(dir.path, "sandboxes") });
      const url = line.split(" ")[1]!;
      await startProcess(["worker", "--server", url, "--id", `w-${randomUUID().slice(0, 8)}`], "OMA_WORKER_CONNECTED", env);
      return { child, url };
    };
    const [a, b] = [await serve(), await serve()];
    const onA = createClient(SessionService, createGrpcTransport({ baseUrl: a.url }));
    const onB = createClient(SessionService, createGrpcTransport({ baseUrl: b.url }));
    const sessionId = `server-kill-${randomUUID()}`;
    await onA.createSession({ sessionId, agent: { model: "scripted" } });
    await onA.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } } } });
    await createClient(HarnessService, createGrpcTransport({ baseUrl: a.url })).wake({ sessionId });
    for (let i = 0; i < 400; i++) {
      const { events } = await onB.getEvents({ sessionId, afterSeq: toInt64(0) });
      if (events.some((e) => e.payload.case === "sandboxProvisioned")) break;
      await sleep(25);
    }
    await sleep(200); // inside the first tool call
    a.child.kill("SIGKILL");
    await new Promise((r) => a.child.once("exit", r));

    let events: Event[] = [];
    for (let i = 0; i < 600; i++) {
      const { session } = await onB.getSession({ sessionId });
      if (session?.status === SessionStatus.IDLE && !session.lease && fromInt64(session.headSeq) > 1) {
        events = (await onB.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 })).events;
        const tail = events.at(-1)?.payload;
        if (tail?.case === "statusChanged" && tail.value.status === SessionStatus.IDLE) break;
      }
      await sleep(50);
    }
    const last = events.at(-1)?.payload;
    expect(last?.case === "statusChanged" && last.value.stopReason).toBe(StopReason.END_TURN);
    const { toolUseIds, problems } = logInvariants(events);
    expect(problems).toEqual([]);
    expect(toolUseIds).toHaveLength(2);
    // The sandbox stayed with the dead server: its call is an error result, and the
    // successor's next call, forwarded to the dead server (SBX-17), found the sandbox lost
    // and provisioned a fresh one.
    expect(events.filter((e) => e.payload.case === "sandboxProvisioned")).toHaveLength(2);
    // The brain that finished it was one that server B dispatched.
    expect(events.filter((e) => e.payload.case === "harnessStarted").length).toBeGreaterThanOrEqual(2);
    b.child.kill("SIGTERM");
  }, 120_000);

  it("HARN-3: a session woken on a server with no worker runs on a worker connected to the other server", async () => {
    const model = await startScriptedModel({ script: byStep([], { content: [{ type: "text", text: "done" }] }) });
    cleanup.push(() => model.close());
    const cluster = await NatsCluster.start(1);
    cleanup.push(() => cluster.stop());
    const env = { ...process.env, ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn", OMA_VAULT_KEY: TEST_VAULT_KEY };
    const serve = async () => {
      const dir = await tempDir("oma-cross-wake-");
      cleanup.push(() => dir.remove());
      const args = ["serve", "--port", "0", "--data-dir", join(dir.path, "data"), "--workers", "0", "--sandbox-backend", "process", "--auth", "none", "--store", cluster.url];
      const { line } = await startProcess(args, "OMA_LISTENING", env);
      return line.split(" ")[1]!;
    };
    const [a, b] = [await serve(), await serve()];
    const workerId = `only-on-b-${randomUUID().slice(0, 8)}`;
    await startProcess(["worker", "--server", b, "--id", workerId], "OMA_WORKER_CONNECTED", env);
    const onA = createClient(SessionService, createGrpcTransport({ baseUrl: a }));
    const sessionId = `cross-wake-${randomUUID()}`;
    await onA.createSession({ sessionId, agent: { model: "scripted" } });
    await onA.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } } } });
    const woke = await createClient(HarnessService, createGrpcTransport({ baseUrl: a })).wake({ sessionId });
    let events: Event[] = [];
    for (let i = 0; i < 400; i++) {
      events = (await onA.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 })).events;
      const tail = events.at(-1)?.payload;
      if (tail?.case === "statusChanged" && tail.value.status === SessionStatus.IDLE) break;
      await sleep(50);
    }
    const started = events.flatMap((e) => (e.payload.case === "harnessStarted" ? [e.payload.value] : []));
    expect(started.map((h) => [h.harnessId, h.workerId])).toEqual([[woke.harnessId, workerId]]);
    const last = events.at(-1)?.payload;
    expect(last?.case === "statusChanged" && last.value.stopReason).toBe(StopReason.END_TURN);
    expect(logInvariants(events).problems).toEqual([]);
  }, 60_000);
});
