import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { byStep } from "@oma/conformance/scripted-model";
import { startMcpServer, type McpTestServer } from "@oma/conformance/fixtures";
import { StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// SEC-14: a brain discovers an MCP server's tools through the server's proxy and calls them
// there with its session token, against a real MCP server that demands a bearer, with the
// scripted model through the real SDK. The bearer is in neither the log nor the brain's
// process; a failing tool and a server that is down are tool errors, not a dead session.
const script = byStep([
  { content: [{ type: "tool_use", name: "tools__echo", input: { text: "through the proxy" } }] },
  { content: [{ type: "tool_use", name: "tools__fail", input: {} }] },
  { content: [{ type: "tool_use", name: "tools__add", input: { a: 2, b: 40 } }] },
  { content: [{ type: "text", text: "Done with the tools." }] },
]);

let fx: BrainFixture;
let mcp: McpTestServer;
beforeAll(async () => {
  mcp = await startMcpServer();
  fx = await BrainFixture.start({ model: { script }, allowLoopbackUpstreams: true });
  await fx.startWorker();
});
afterAll(async () => {
  await fx?.stop();
  await mcp?.close();
});

async function mcpSession(url: string, token: string): Promise<string> {
  const credentialId = `mcp-${randomUUID().slice(0, 8)}`;
  await fx.app.client(VaultService).createCredential({ credential: { credentialId, kind: { case: "bearer", value: { urlPrefix: new URL("/", url).href, token } } } });
  return fx.createSession({ tools: [{ name: "bash" }], mcpServers: [{ name: "tools", url, credentialId }] }, "use the tools");
}
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x));

describe("SEC-14 MCP tools through the proxy", () => {
  it("the brain offers the server's tools, calls them through the proxy; results and errors land as tool_result; the bearer reaches neither the log nor the brain", { timeout: 60_000 }, async () => {
    const before = fx.model.requests.length;
    const sessionId = await mcpSession(mcp.url, mcp.token);
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    expect(logInvariants(events).problems).toEqual([]);
    const uses = events.flatMap((e) => (e.payload.case === "toolUse" ? [e.payload.value] : []));
    expect(uses.map((u) => [u.name, u.kind])).toEqual([
      ["tools__echo", ToolKind.MCP],
      ["tools__fail", ToolKind.MCP],
      ["tools__add", ToolKind.MCP],
    ]);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    expect(results.map((r) => [r.output, r.isError])).toEqual([
      ["through the proxy", false],
      ["the fail tool failed, as it always does", true],
      ["42", false],
    ]);
    // The model saw the MCP tools next to the agent's own, with the server's schemas.
    const first = fx.model.requests.slice(before).find((r) => json(r.body.messages).includes("use the tools"))!;
    expect((first.body.tools ?? []).map((t) => t["name"])).toEqual(["bash", "tools__echo", "tools__add", "tools__fail"]);
    expect(mcp.calls.slice(-3).map((c) => c.tool)).toEqual(["echo", "fail", "add"]);
    // The bearer: not in any event, not in the brain's environment or arguments.
    expect(json(events.map((e) => e.payload.value))).not.toContain(mcp.token);
    const worker = fx.workers[0]!;
    for (const file of ["environ", "cmdline"]) {
      expect((await readFile(`/proc/${worker.child.pid}/${file}`)).includes(mcp.token), file).toBe(false);
    }
    expect(worker.logs.join("\n")).not.toContain(mcp.token);
  });

  it("an MCP server that is down is a tool error: it offers no tools, a call to one is an error result naming it, and the turn ends", { timeout: 60_000 }, async () => {
    const down = await startMcpServer();
    const url = down.url;
    const token = down.token;
    await down.close();
    const sessionId = await mcpSession(url, token);
    // The model calls a tool that is not offered: the brain answers it as an error.
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);
    const events = await fx.events(sessionId);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    expect(results.length).toBe(3);
    expect(results.every((r) => r.isError && r.output.includes("MCP server tools"))).toBe(true);
    expect(events.some((e) => e.payload.case === "sandboxProvisioned")).toBe(false);
  });
});
