import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { natsUnavailable } from "../testing/nats-cluster.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { announceSkips, backendsUnderTest } from "./sandbox-test-support.js";

// Servers on the run's shared 3-node JetStream cluster (R3), with auth: a sandbox stays on
// the server that made it, and SandboxService calls for it through another server are
// forwarded there on the caller's own token. The process backend: what is tested is the
// forwarding, the same for every backend.
const processBackend = backendsUnderTest().find((b) => b.name === "process")!;
announceSkips("sandbox forwarding between servers", [processBackend]);
const noNats = natsUnavailable();
if (noNats) console.warn(`!!! SKIPPED sandbox forwarding between servers: ${noNats}`);

async function failure(call: Promise<unknown>): Promise<[string, string] | "succeeded"> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  if (err === undefined) return "succeeded";
  const info = omaErrorInfo(err);
  return [Code[info?.code ?? Code.Unknown], info?.reason ?? String(err)];
}

describe.skipIf(noNats !== undefined || !processBackend.available)("sandbox calls through another server are forwarded to the sandbox's server", () => {
  let a: TestApp;
  let b: TestApp;
  let onA: OmaClient;
  let onB: OmaClient;
  beforeAll(async () => {
    const store = inject("natsUrl");
    [a, b] = await Promise.all([startTestApp({ store, sandboxBackend: "process" }), startTestApp({ store, sandboxBackend: "process" })]);
    // One client token, minted through A, used on both.
    const { bearerToken } = await a.client(TokenService).createToken({ tenant: `t-${randomUUID().slice(0, 8)}`, role: TokenRole.CLIENT });
    onA = createOmaClient({ baseUrl: a.url, token: bearerToken });
    onB = createOmaClient({ baseUrl: b.url, token: bearerToken });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("SBX-1..4: a sandbox made on A is executed, read, streamed, renewed and destroyed through B", async () => {
    const { sandbox } = await onA.sandboxes.provision({ resources: {} });
    const sandboxId = sandbox!.sandboxId;
    const ran = await onB.sandboxes.execute({ sandboxId, name: "bash", input: { command: "echo made on $(cat /proc/sys/kernel/hostname) > note.txt; echo ok" } });
    expect([ran.output.trim(), ran.isError]).toEqual(["ok", false]);
    // The file is on A's host: read through A and through B alike.
    const viaA = await onA.sandboxes.execute({ sandboxId, name: "read_file", input: { path: "note.txt" } });
    const viaB = await onB.sandboxes.execute({ sandboxId, name: "read_file", input: { path: "note.txt" } });
    expect(viaB.output).toBe(viaA.output);
    expect(viaB.output).toContain("made on");
    await onB.sandboxes.execute({ sandboxId, name: "write_file", input: { path: "from-b.txt", content: "written through B" } });
    expect((await onA.sandboxes.execute({ sandboxId, name: "read_file", input: { path: "from-b.txt" } })).output).toContain("written through B");
    // A keyed call retried through the other server replays (SBX-8).
    const key = randomUUID();
    const first = await onA.sandboxes.execute({ sandboxId, name: "bash", input: { command: "echo $RANDOM" }, idempotencyKey: key });
    const again = await onB.sandboxes.execute({ sandboxId, name: "bash", input: { command: "echo $RANDOM" }, idempotencyKey: key });
    expect([again.output, again.replayed]).toEqual([first.output, true]);
    const chunks: string[] = [];
    let result: { output: string } | undefined;
    for await (const m of onB.sandboxes.executeStream({ sandboxId, name: "bash", input: { command: "for i in 1 2 3; do echo line $i; done" } })) {
      if (m.message.case === "chunk") chunks.push(new TextDecoder().decode(m.message.value.data));
      if (m.message.case === "result") result = m.message.value;
    }
    expect(chunks.join("")).toBe("line 1\nline 2\nline 3\n");
    expect(result?.output).toBe("line 1\nline 2\nline 3\n");
    expect((await onB.sandboxes.getSandbox({ sandboxId })).sandbox?.sandboxId).toBe(sandboxId);
    expect((await onB.sandboxes.renewSandbox({ sandboxId })).sandbox?.sandboxId).toBe(sandboxId);
    // Errors come back with their code and reason (SBX-5).
    expect(await failure(onB.sandboxes.execute({ sandboxId, name: "no_such_tool", input: {} }))).toEqual(["NotFound", "TOOL_NOT_FOUND"]);
    await onB.sandboxes.destroySandbox({ sandboxId });
    expect(await failure(onA.sandboxes.getSandbox({ sandboxId }))).toEqual(["NotFound", "SANDBOX_NOT_FOUND"]);
    expect(await failure(onB.sandboxes.execute({ sandboxId, name: "bash", input: { command: "true" } }))).toEqual(["NotFound", "SANDBOX_NOT_FOUND"]);
    // A's sandboxes are listed by A alone (ListSandboxes is not forwarded).
    expect((await onB.sandboxes.listSandboxes({})).sandboxes.map((s) => s.sandboxId)).not.toContain(sandboxId);
  });

  it("SEC-10: through B, another tenant's sandbox on A is SANDBOX_NOT_FOUND, and destroying it changes nothing", async () => {
    const { sandbox } = await onA.sandboxes.provision({ resources: {} });
    const sandboxId = sandbox!.sandboxId;
    const { bearerToken } = await b.client(TokenService).createToken({ tenant: `u-${randomUUID().slice(0, 8)}`, role: TokenRole.CLIENT });
    const stranger = createOmaClient({ baseUrl: b.url, token: bearerToken });
    expect(await failure(stranger.sandboxes.getSandbox({ sandboxId }))).toEqual(["NotFound", "SANDBOX_NOT_FOUND"]);
    expect(await failure(stranger.sandboxes.execute({ sandboxId, name: "bash", input: { command: "touch /tmp/x" } }))).toEqual(["NotFound", "SANDBOX_NOT_FOUND"]);
    expect(await failure(stranger.sandboxes.destroySandbox({ sandboxId }))).toBe("succeeded");
    expect((await onB.sandboxes.execute({ sandboxId, name: "bash", input: { command: "echo still here" } })).output.trim()).toBe("still here");
    // An admin acting in the owner's tenant (oma-tenant, forwarded too) reaches it through B.
    const tenant = (await onA.sandboxes.getSandbox({ sandboxId })).sandbox!.tenant;
    const admin = createOmaClient({ baseUrl: b.url, token: b.adminToken, tenant });
    expect((await admin.sandboxes.getSandbox({ sandboxId })).sandbox?.sandboxId).toBe(sandboxId);
    await onA.sandboxes.destroySandbox({ sandboxId });
  });

  it("SBX-11: a sandbox whose server is gone is UNAVAILABLE / SANDBOX_LOST through another", async () => {
    const c = await startTestApp({ store: inject("natsUrl"), sandboxBackend: "process" });
    const onC = createOmaClient({ baseUrl: c.url, token: a.adminToken });
    const { sandbox } = await onC.sandboxes.provision({ resources: {} });
    const viaB = createOmaClient({ baseUrl: b.url, token: a.adminToken });
    expect((await viaB.sandboxes.execute({ sandboxId: sandbox!.sandboxId, name: "bash", input: { command: "echo up" } })).output.trim()).toBe("up");
    await c.stop();
    expect(await failure(viaB.sandboxes.execute({ sandboxId: sandbox!.sandboxId, name: "bash", input: { command: "true" } }))).toEqual(["Unavailable", "SANDBOX_LOST"]);
  });
});
