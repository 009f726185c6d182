import { toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { StopReason, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { byStep } from "../../scripted-model/index.js";
import type { ConformanceCase, CaseContext } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { startMcpServer, type McpTestServer } from "../../fixtures/mcp-server.js";
import { readAll, S } from "../session/session-helpers.js";
import { H, lastStatus, ofKind, say, scriptedSession, text, toolCall, untilIdle } from "./harness-helpers.js";
import { plantedSecret, V } from "../vault/vault-helpers.js";

/** An MCP server on this machine's loopback and a bearer credential for it in the run's tenant. */
async function withMcpServer<T>(ctx: CaseContext, body: (mcp: McpTestServer, credentialId: string) => Promise<T>): Promise<T> {
  const mcp = await startMcpServer();
  const credentialId = ctx.uniqueId("conf-mcp");
  try {
    await ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: { case: "bearer", value: { urlPrefix: new URL("/", mcp.url).href, token: mcp.token } } } });
    return await body(mcp, credentialId);
  } finally {
    await ctx.rpc.unary(V.deleteCredential, { credentialId }).catch(() => undefined);
    await mcp.close();
  }
}

const hint = "(the suite's MCP server listens on this machine's loopback: the target's proxy must be allowed to reach it, e.g. --allow-loopback-upstreams)";

/** SEC-14: MCP tools through the server's proxy. */
export const mcpCases: ConformanceCase[] = [
  {
    id: "harness/SEC-14/mcp-tools-through-the-proxy",
    requirement: "SEC-14",
    level: "MUST",
    feature: "harness.mcp",
    needs: ["harness"],
    timeoutMs: 60_000,
    title: "the brain offers an MCP server's tools as <name>__<tool> and calls them: results land as tool_result (a failing tool is_error), the server saw its bearer, the bearer is nowhere in the log",
    async run(ctx) {
      await withMcpServer(ctx, async (mcp, credentialId) => {
        const { sessionId, model } = await scriptedSession(ctx, byStep([toolCall("tools__echo", { text: "conformance" }), toolCall("tools__fail", {}), text("done")]), {
          tools: [{ name: "read_file" }],
          mcpServers: [{ name: "tools", url: mcp.url, credentialId }],
        });
        const at = await say(ctx, sessionId, "use the MCP tools");
        await ctx.rpc.unary(H.wake, { sessionId });
        const turn = await untilIdle(ctx, sessionId, at, 45_000);
        checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
        const uses = ofKind(turn, "toolUse");
        checkDeepEqual(uses.map((u) => [u.name, u.kind]), [["tools__echo", ToolKind.MCP], ["tools__fail", ToolKind.MCP]], "tool_use name and kind");
        const results = ofKind(turn, "toolResult");
        checkDeepEqual(results.map((r) => [r.output, r.isError]), [["conformance", false], ["the fail tool failed, as it always does", true]], `tool_result output and is_error ${hint}`);
        checkDeepEqual(mcp.calls.map((c) => c.tool), ["echo", "fail"], "the calls the MCP server ran (with its bearer)");
        const offered = (ctx.harness!.requests(model).at(0)?.body.tools ?? []).map((t) => String(t["name"]));
        check(["tools__echo", "tools__add", "tools__fail"].every((n) => offered.includes(n)), `the model must be offered the MCP tools, got ${offered.join(", ")}`);
        const log = await readAll(ctx, sessionId);
        check(!log.some((e) => Buffer.from(toBinary(EventSchema, e)).includes(mcp.token)), "the MCP server's bearer appears in the session log");
      });
    },
  },
  {
    id: "harness/SEC-14/mcp-server-down-is-a-tool-error",
    requirement: "SEC-14",
    level: "MUST",
    feature: "harness.mcp",
    needs: ["harness"],
    timeoutMs: 60_000,
    title: "an MCP server that is down is a tool error, not a dead session: a call to one of its tools gets an is_error result and the turn ends",
    async run(ctx) {
      const mcp = await startMcpServer();
      const url = mcp.url;
      const credentialId = ctx.uniqueId("conf-mcp");
      await ctx.rpc.unary(V.createCredential, { credential: { credentialId, kind: { case: "bearer", value: { urlPrefix: new URL("/", url).href, token: plantedSecret("mcp") } } } });
      await mcp.close();
      try {
        const { sessionId } = await scriptedSession(ctx, byStep([toolCall("tools__echo", { text: "anyone?" }), text("done")]), { tools: [{ name: "read_file" }], mcpServers: [{ name: "tools", url, credentialId }] });
        const at = await say(ctx, sessionId, "try the tool");
        await ctx.rpc.unary(H.wake, { sessionId });
        const turn = await untilIdle(ctx, sessionId, at, 45_000);
        checkEqual(lastStatus(turn).stopReason, StopReason.END_TURN, "stop reason");
        const results = ofKind(turn, "toolResult");
        check(results.length === 1 && results[0]!.isError, `the call to a server that is down must get one is_error result, got ${JSON.stringify(results.map((r) => [r.output, r.isError]))}`);
      } finally {
        await ctx.rpc.unary(V.deleteCredential, { credentialId }).catch(() => undefined);
      }
    },
  },
  {
    id: "harness/SEC-14/create-session-checks",
    requirement: "SEC-14",
    level: "MUST",
    feature: "harness.mcp",
    title: "CreateSession: an unknown credential is CREDENTIAL_NOT_FOUND; one whose url_prefix does not cover the URL, a URL with user info and a duplicate name are INVALID_FIELD",
    async run(ctx) {
      const url = "https://mcp.conformance.example/mcp";
      const create = (mcpServers: object[]) => ctx.rpc.unary(S.createSession, { agent: { model: "oma-conformance-model", mcpServers } as never });
      await expectFailure(create([{ name: "tools", url, credentialId: ctx.uniqueId("missing") }]), { code: "NOT_FOUND", reason: "CREDENTIAL_NOT_FOUND", field: "agent.mcp_servers[0].credential_id" }, "an unknown credential");
      const elsewhere = ctx.uniqueId("conf-mcp");
      await ctx.rpc.unary(V.createCredential, { credential: { credentialId: elsewhere, kind: { case: "bearer", value: { urlPrefix: "https://other.conformance.example/", token: plantedSecret("mcp") } } } });
      try {
        await expectFailure(create([{ name: "tools", url, credentialId: elsewhere }]), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "agent.mcp_servers[0].credential_id" }, "a credential for other URLs");
      } finally {
        await ctx.rpc.unary(V.deleteCredential, { credentialId: elsewhere }).catch(() => undefined);
      }
      await expectFailure(create([{ name: "tools", url: "https://user:pw@mcp.conformance.example/" }]), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "agent.mcp_servers[0].url" }, "a URL with user info");
      await expectFailure(create([{ name: "tools", url }, { name: "tools", url }]), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "agent.mcp_servers[1].name" }, "a duplicate name");
    },
  },
];
