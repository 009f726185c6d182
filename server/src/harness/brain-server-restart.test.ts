import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bearerAuth } from "@oma/client";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, describe, expect, it } from "vitest";
import { announceSkips, backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { stopChild } from "../testing/process-tree.js";
import { tempDir } from "../testing/temp-dir.js";
import { fromInt64, toInt64 } from "./int64.js";
import { CLI_MAIN } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// HARN-5 across a crash of the server itself: the server is SIGKILLed while a brain works
// and started again on the same data; the worker reconnects, and the session completes.
const bwrap = backendsUnderTest().find((b) => b.name === "bubblewrap")!;
announceSkips("brain across a server restart", [bwrap]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const processes: ChildProcess[] = [];
let model: ScriptedModel | undefined;
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterAll(async () => {
  // Clean shutdowns, the worker first: the server removes its sandboxes' workspaces and cgroups.
  for (const p of [...processes].reverse()) await stopChild(p);
  await model?.close();
  await dir?.remove();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function startProcess(args: string[], ready: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ["ignore", "pipe", "ignore"], env });
  processes.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready`)), 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

describe.skipIf(!bwrap.available)("a brain across a SIGKILL of the server (bubblewrap)", () => {
  it("HARN-5: the restarted server and the reconnected worker finish the session; the log stays gapless with one result per call", async () => {
    model = await startScriptedModel({
      script: byStep([
        { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 0.6; echo one" } }] },
        { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 0.3; echo two" } }] },
      ]),
    });
    dir = await tempDir("oma-restart-");
    const port = await freePort();
    const env = { ...process.env, ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn" };
    const serveArgs = ["serve", "--port", String(port), "--data-dir", dir.path, "--workers", "0", "--sandbox-backend", "bubblewrap", "--lease-ttl-ms", "1000"];
    let server = await startProcess(serveArgs, "OMA_LISTENING", env);
    const url = `http://127.0.0.1:${port}`;
    const token = (await readFile(join(dir.path, "admin.token"), "utf8")).trim();
    await startProcess(["worker", "--server", url, "--id", `w-${randomUUID().slice(0, 8)}`], "OMA_WORKER_CONNECTED", { ...env, OMA_TOKEN: token });

    const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearerAuth(token)] });
    const sessions = createClient(SessionService, transport);
    const sessionId = `restart-${randomUUID()}`;
    await sessions.createSession({ sessionId, agent: { model: "scripted" } });
    await sessions.emitEvent({ sessionId, event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "go" } } }] } } } });
    await createClient(HarnessService, transport).wake({ sessionId });
    for (let i = 0; i < 400; i++) {
      const { events } = await sessions.getEvents({ sessionId, afterSeq: toInt64(0) });
      if (events.some((e) => e.payload.case === "sandboxProvisioned")) break;
      await sleep(25);
    }
    await sleep(200); // inside the first tool call
    server.kill("SIGKILL");
    await new Promise((r) => server.once("exit", r));
    server = await startProcess(serveArgs, "OMA_LISTENING", env);

    let events: Event[] = [];
    for (let i = 0; i < 600; i++) {
      const { session } = await sessions.getSession({ sessionId }).catch(() => ({ session: undefined }));
      if (session?.status === SessionStatus.IDLE && !session.lease && fromInt64(session.headSeq) > 1) {
        events = (await sessions.getEvents({ sessionId, afterSeq: toInt64(0), limit: 1000 })).events;
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
    await stopChild(server);
  });
});
