import { Code } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLimits } from "../limits.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";

// Bad input, everywhere (WIRE-3, WIRE-5, WIRE-6): each malformed request is answered with
// its code, reason and field, and leaves the store as it was.
let app: TestApp;
let oma: OmaClient;
let sessionId = "";
const tag = randomUUID();

beforeAll(async () => {
  app = await startTestApp();
  oma = createOmaClient({ baseUrl: app.url, token: app.adminToken });
  sessionId = (await oma.sessions.createSession({ agent: { model: "m" }, labels: { run: tag } })).session!.sessionId;
  await oma.sessions.emitEvent({ sessionId, event: { payload: { case: "custom", value: { type: "first" } } } });
});
afterAll(async () => app?.stop());

/** A JSON value nested `levels` deep. */
const deep = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { n: v };
  return v;
};
const tooDeep = deep(defaultLimits.maxStructDepth + 1);
const text = (t: string) => ({ block: { case: "text" as const, value: { text: t } } });
const image = (value: { mediaType?: string; data?: Uint8Array; url?: string }) => ({ block: { case: "image" as const, value } });
const user = (content: unknown[]) => ({ payload: { case: "userMessage" as const, value: { content } } }) as never;
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);

type Expect = [code: Code, reason: string, field: string];
const invalid = (field: string): Expect => [Code.InvalidArgument, "INVALID_FIELD", field];

/** Appends that must each be refused, leaving the log as it was. */
const badEvents: [string, unknown, Expect][] = [
  ["an empty text block", user([text("")]), invalid("event.user_message.content[0].text.text")],
  ["an image with data and a URL", user([image({ mediaType: "image/png", data: png, url: "https://example.com/a.png" })]), invalid("event.user_message.content[0].image")],
  ["an image with neither", user([image({ mediaType: "image/png" })]), invalid("event.user_message.content[0].image")],
  ["inline image data without a media type", user([image({ data: png })]), invalid("event.user_message.content[0].image.media_type")],
  ["an image media type outside the list", user([image({ mediaType: "image/tiff", data: png })]), invalid("event.user_message.content[0].image.media_type")],
  ["an image URL that is not https", user([image({ url: "http://example.com/a.png" })]), invalid("event.user_message.content[0].image.url")],
  ["an image URL with a script scheme", user([image({ url: "javascript:alert(1)" })]), invalid("event.user_message.content[0].image.url")],
  ["an unknown stop reason", { payload: { case: "statusChanged", value: { status: 1, stopReason: 99 } } }, invalid("event.status_changed.stop_reason")],
  ["an unknown tool kind", { payload: { case: "toolUse", value: { toolUseId: "t1", name: "bash", kind: 99 } } }, invalid("event.tool_use.kind")],
  ["a tool_use id with a space", { payload: { case: "toolUse", value: { toolUseId: "t 1", name: "bash" } } }, invalid("event.tool_use.tool_use_id")],
  ["a tool name with a slash", { payload: { case: "toolUse", value: { toolUseId: "t1", name: "a/b" } } }, invalid("event.tool_use.name")],
  ["tool input nested too deep", { payload: { case: "toolUse", value: { toolUseId: "t1", name: "bash", input: tooDeep } } }, invalid("event.tool_use.input")],
  ["custom data nested too deep", { payload: { case: "custom", value: { type: "x", data: tooDeep } } }, invalid("event.custom.data")],
  ["a tool result without its tool_use id", { payload: { case: "toolResult", value: { output: "x" } } }, invalid("event.tool_result.tool_use_id")],
  ["a confirmation of an id with a slash", { payload: { case: "toolConfirmation", value: { toolUseId: "../t", decision: 1 } } }, invalid("event.tool_confirmation.tool_use_id")],
  ["a sandbox_provisioned without a sandbox id", { payload: { case: "sandboxProvisioned", value: { backend: "docker" } } }, invalid("event.sandbox_provisioned.sandbox_id")],
  ["a harness_started with a bad harness id", { payload: { case: "harnessStarted", value: { harnessId: ".hidden" } } }, invalid("event.harness_started.harness_id")],
  ["negative token counts", { payload: { case: "modelUsage", value: { inputTokens: -1n } } }, invalid("event.model_usage.input_tokens")],
];

describe("bad input is refused with its reason and field, and writes nothing", () => {
  it("appends: content blocks, enums, ids and Struct depth", async () => {
    for (const [what, event, expected] of badEvents) {
      const info = omaErrorInfo(await oma.sessions.emitEvent({ sessionId, event: event as never }).catch((e: unknown) => e));
      expect([info?.code, info?.reason, info?.field], what).toEqual(expected);
    }
    const options: [string, Record<string, unknown>, Expect][] = [
      ["an idempotency key with a newline", { idempotencyKey: "a\nb" }, invalid("idempotency_key")],
      ["a negative expected head", { expectedHeadSeq: -1n }, invalid("expected_head_seq")],
      ["lease epoch 0", { leaseEpoch: 0n }, invalid("lease_epoch")],
    ];
    for (const [what, extra, expected] of options) {
      const info = omaErrorInfo(await oma.sessions.emitEvent({ sessionId, event: user([text("ok")]), ...extra }).catch((e: unknown) => e));
      expect([info?.code, info?.reason, info?.field], what).toEqual(expected);
    }
    expect((await oma.sessions.getSession({ sessionId })).session?.headSeq).toBe(1n);
  });

  it("CreateSession: ids, labels, tools against ListTools, the sandbox recipe as Provision checks it, enums and depth", async () => {
    const agent = { model: "m" };
    const cases: [string, Record<string, unknown>, Expect][] = [
      ["an id with a slash", { sessionId: "a/b", agent }, invalid("session_id")],
      ["a label key with capitals", { labels: { Run: "x" }, agent }, invalid("labels")],
      ["no agent", {}, invalid("agent")],
      ["a sandbox tool ListTools does not have", { agent: { ...agent, tools: [{ name: "rm_everything" }] } }, invalid("agent.tools[0].name")],
      ["an unknown tool kind", { agent: { ...agent, tools: [{ name: "bash", kind: 99 }] } }, invalid("agent.tools[0].kind")],
      ["an input schema nested too deep", { agent: { ...agent, tools: [{ name: "mine", kind: 2, description: "d", inputSchema: tooDeep }] } }, invalid("agent.tools[0].input_schema")],
      ["an agent of 80 tools with 15 KiB descriptions each (every part within its bound, over 1 MiB in all)", { agent: { ...agent, tools: Array.from({ length: 80 }, (_, i) => ({ name: `t${i}`, kind: 2, description: "d".repeat(15 * 1024), inputSchema: { type: "object" } })) } }, invalid("agent")],
      ["a sandbox with 1000 cores", { agent: { ...agent, sandbox: { cpu: 1000 } } }, invalid("agent.sandbox.cpu")],
      ["a sandbox network mode that does not exist", { agent: { ...agent, sandbox: { network: { mode: 99 } } } }, invalid("agent.sandbox.network.mode")],
      ["a sandbox file outside the workspace", { agent: { ...agent, sandbox: { files: [{ path: "../etc/x" }] } } }, invalid("agent.sandbox.files[0].path")],
      ["a sandbox backend nobody has", { agent: { ...agent, sandbox: { backend: "vmware" } } }, [Code.Unavailable, "BACKEND_UNAVAILABLE", "agent.sandbox.backend"]],
    ];
    for (const [what, req, expected] of cases) {
      const info = omaErrorInfo(await oma.sessions.createSession({ labels: { run: tag, case: "bad" }, ...req } as never).catch((e: unknown) => e));
      expect([info?.code, info?.reason, info?.field], what).toEqual(expected);
    }
    expect((await oma.sessions.listSessions({ labels: { run: tag } })).sessions.map((s) => s.sessionId)).toEqual([sessionId]);
  });

  it("reads, leases and listings: enums and ids", async () => {
    const cases: [string, () => Promise<unknown>, Expect][] = [
      ["GetEvents with an unknown order", () => oma.sessions.getEvents({ sessionId, order: 99 as never }), invalid("order")],
      ["ListSessions with an unknown status", () => oma.sessions.listSessions({ status: 99 as never }), invalid("status")],
      ["AcquireLease without a holder", () => oma.sessions.acquireLease({ sessionId }), invalid("holder")],
      ["Wake of an id with a slash", () => oma.harness.wake({ sessionId: "../x" }), invalid("session_id")],
      ["ListHarnesses of an id with a space", () => oma.harness.listHarnesses({ sessionId: "a b" }), invalid("session_id")],
      ["ConnectWorker without a worker id", () => oma.harness.connectWorker({ workerId: "" })[Symbol.asyncIterator]().next(), invalid("worker_id")],
      ["ConnectWorker with room for 5000", () => oma.harness.connectWorker({ workerId: "w", capacity: 5000 })[Symbol.asyncIterator]().next(), invalid("capacity")],
      ["ConnectWorker with 100 labels", () => oma.harness.connectWorker({ workerId: "w", labels: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v"])) })[Symbol.asyncIterator]().next(), invalid("labels")],
      ["CreateToken with an unknown role", () => oma.tokens.createToken({ tenant: "t", role: 99 as TokenRole }), invalid("role")],
      ["a client token for every tenant", () => oma.tokens.createToken({ tenant: "*", role: TokenRole.CLIENT }), invalid("tenant")],
      ["a token description of 300 bytes", () => oma.tokens.createToken({ tenant: "t", role: TokenRole.CLIENT, description: "x".repeat(300) }), invalid("description")],
      ["RevokeToken of something else", () => oma.tokens.revokeToken({ tokenId: "x" }), invalid("token_id")],
    ];
    for (const [what, call, expected] of cases) {
      const info = omaErrorInfo(await call().catch((e: unknown) => e));
      expect([info?.code, info?.reason, info?.field], what).toEqual(expected);
    }
    expect((await oma.harness.listHarnesses({})).harnesses.filter((h) => h.sessionId === sessionId)).toEqual([]);
  });

  it("sandboxes: recipes, ids, tool input depth, timeouts, keys and TTLs", async () => {
    const before = (await oma.sandboxes.listSandboxes({ pageSize: 1000 })).sandboxes.length;
    const sbx = "sbx_" + "0".repeat(32);
    const cases: [string, () => Promise<unknown>, Expect][] = [
      ["Provision with a network mode that does not exist", () => oma.sandboxes.provision({ resources: { network: { mode: 99 as never } } }), invalid("resources.network.mode")],
      ["Provision with a file mode beyond 0o7777", () => oma.sandboxes.provision({ resources: { files: [{ path: "a", mode: 0o77777 }] } }), invalid("resources.files[0].mode")],
      ["Provision with an image name of 600 bytes", () => oma.sandboxes.provision({ resources: { image: "x".repeat(600) } }), invalid("resources.image")],
      ["Provision for a session id with a slash", () => oma.sandboxes.provision({ sessionId: "a/b" }), invalid("session_id")],
      ["Execute in something that is not a sandbox id", () => oma.sandboxes.execute({ sandboxId: "nope", name: "bash", input: { command: "true" } }), invalid("sandbox_id")],
      ["Execute with input nested too deep", () => oma.sandboxes.execute({ sandboxId: sbx, name: "bash", input: { command: "true", x: tooDeep as never } }), invalid("input")],
      ["Execute with a negative timeout", () => oma.sandboxes.execute({ sandboxId: sbx, name: "bash", input: { command: "true" }, timeout: { seconds: -1n } }), invalid("timeout")],
      ["Execute with a key of 200 characters", () => oma.sandboxes.execute({ sandboxId: sbx, name: "bash", input: { command: "true" }, idempotencyKey: "k".repeat(200) }), invalid("idempotency_key")],
      ["ExecuteStream resuming at a negative offset", () => oma.sandboxes.executeStream({ sandboxId: sbx, name: "bash", input: { command: "true" }, resumeOffset: -1n })[Symbol.asyncIterator]().next(), invalid("resume_offset")],
      ["RenewSandbox for half a second", () => oma.sandboxes.renewSandbox({ sandboxId: sbx, ttl: { nanos: 500_000_000 } }), invalid("ttl")],
      ["ListSandboxes of a session id with a space", () => oma.sandboxes.listSandboxes({ sessionId: "a b" }), invalid("session_id")],
    ];
    for (const [what, call, expected] of cases) {
      const info = omaErrorInfo(await call().catch((e: unknown) => e));
      expect([info?.code, info?.reason, info?.field], what).toEqual(expected);
    }
    expect((await oma.sandboxes.listSandboxes({ pageSize: 1000 })).sandboxes.length).toBe(before);
  });
});
