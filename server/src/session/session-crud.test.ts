import { Code } from "@connectrpc/connect";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { ContextStrategy, SessionStatus, ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { expectRpcError, newSession, textEvent, uniqueSessionId, type SessionClient } from "./session-test-kit.js";

describe("SessionService: create, get, list, delete (real server)", () => {
  let app: TestApp;
  let client: SessionClient;
  beforeAll(async () => {
    app = await startTestApp();
    client = app.client(SessionService);
  });
  afterAll(async () => {
    await app.stop();
  });

  it("WIRE-9: claims session.core and session.leases", async () => {
    const info = await app.client(ServerInfoService).getServerInfo({});
    expect(info.features).toEqual(expect.arrayContaining(["session.core", "session.leases"]));
  });

  it("SESS-1/WIRE-8: a server-chosen id starts with ses_; the new session is IDLE with head 0", async () => {
    const { session } = await client.createSession({ agent: { model: "claude-test", systemPrompt: "be brief" }, labels: { team: "infra" } });
    expect(session!.sessionId).toMatch(/^ses_[A-Za-z0-9]+$/);
    const got = (await client.getSession({ sessionId: session!.sessionId })).session!;
    expect([got.status, got.headSeq, got.labels, got.agent?.systemPrompt]).toEqual([SessionStatus.IDLE, 0n, { team: "infra" }, "be brief"]);
    expect(got.createTime).toBeDefined();
    expect(got.lease).toBeUndefined();
  });

  it("SESS-9: a taken id is ALREADY_EXISTS / SESSION_EXISTS; agent.model is required", async () => {
    const id = await newSession(client);
    await expectRpcError(client.createSession({ sessionId: id, agent: { model: "m" } }), Code.AlreadyExists, "SESSION_EXISTS");
    await expectRpcError(client.createSession({ sessionId: uniqueSessionId() }), Code.InvalidArgument, "INVALID_FIELD", "agent");
    await expectRpcError(client.createSession({ sessionId: uniqueSessionId(), agent: { model: "" } }), Code.InvalidArgument, "INVALID_FIELD", "agent.model");
    await expectRpcError(client.createSession({ agent: { model: "m", maxTokens: 128_001 } }), Code.InvalidArgument, "INVALID_FIELD", "agent.max_tokens");
  });

  it("HARN-21/HARN-23: context settings and harness tools out of bounds are INVALID_FIELD naming the field, and create nothing", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ context: { strategy: 9 } }, "agent.context.strategy"],
      [{ context: { strategy: ContextStrategy.COMPACT, maxInputTokens: 1023 } }, "agent.context.max_input_tokens"],
      [{ context: { strategy: ContextStrategy.COMPACT, maxInputTokens: 10_000_001 } }, "agent.context.max_input_tokens"],
      [{ context: { strategy: ContextStrategy.CLEAR, maxInputTokens: 4000, targetInputTokens: 4000 } }, "agent.context.target_input_tokens"],
      [{ context: { strategy: ContextStrategy.CLEAR, targetInputTokens: 255 } }, "agent.context.target_input_tokens"],
      [{ context: { strategy: ContextStrategy.CLEAR, targetInputTokens: 160_000 } }, "agent.context.target_input_tokens"],
      [{ tools: [{ name: "recall", kind: ToolKind.HARNESS }] }, "agent.tools[0].name"],
      [{ tools: [{ name: "session_history", kind: ToolKind.CUSTOM, description: "mine", inputSchema: { type: "object" } }] }, "agent.tools[0].kind"],
    ];
    for (const [agent, field] of cases) {
      const sessionId = uniqueSessionId();
      await expectRpcError(client.createSession({ sessionId, agent: { model: "m", ...agent } }), Code.InvalidArgument, "INVALID_FIELD", field);
      await expectRpcError(client.getSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    }
    const ok = await client.createSession({
      agent: { model: "m", context: { strategy: ContextStrategy.COMPACT, maxInputTokens: 1024, targetInputTokens: 256 }, tools: [{ name: "session_history", kind: ToolKind.HARNESS }] },
    });
    expect(ok.session?.agent?.context?.strategy).toBe(ContextStrategy.COMPACT);
  });

  it("WIRE-8/SESS-20: malformed session ids are INVALID_FIELD session_id and create nothing", async () => {
    const bad = ["../etc/passwd", "a/b", ".hidden", "-dash", "has space", "x".repeat(129), "tab\there", "ü"];
    for (const sessionId of bad) {
      await expectRpcError(client.createSession({ sessionId, agent: { model: "m" } }), Code.InvalidArgument, "INVALID_FIELD", "session_id");
      await expectRpcError(client.getSession({ sessionId }), Code.InvalidArgument, "INVALID_FIELD", "session_id");
      await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x") }), Code.InvalidArgument, "INVALID_FIELD", "session_id");
    }
    await expectRpcError(client.getSession({ sessionId: "" }), Code.InvalidArgument, "INVALID_FIELD", "session_id");
    const longest = "a".repeat(128);
    await client.createSession({ sessionId: `${longest.slice(0, 90)}.${randomUUID()}`, agent: { model: "m" } });
  });

  it("SESS-20: label rules (count, key grammar, value size) are INVALID_FIELD labels", async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    for (const labels of [tooMany, { Upper: "v" }, { "": "v" }, { ["k".repeat(64)]: "v" }, { k: "v".repeat(257) }]) {
      const sessionId = uniqueSessionId();
      await expectRpcError(client.createSession({ sessionId, labels, agent: { model: "m" } }), Code.InvalidArgument, "INVALID_FIELD", "labels");
      await expectRpcError(client.getSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    }
    const ok = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k.${i}/x-y_z`, "v".repeat(256)]));
    await client.createSession({ sessionId: uniqueSessionId(), labels: ok, agent: { model: "m" } });
  });

  it("SESS-9: operations on an unknown session are NOT_FOUND / SESSION_NOT_FOUND", async () => {
    const sessionId = uniqueSessionId("unknown");
    await expectRpcError(client.getSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.deleteSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.emitEvent({ sessionId, event: textEvent("x") }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.getEvents({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.acquireLease({ sessionId, holder: "h" }), Code.NotFound, "SESSION_NOT_FOUND");
  });

  it("SESS-18/WIRE-4: lists newest first; pages return every match exactly once; filters apply", async () => {
    const run = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push(await newSession(client, { run, kind: i % 3 === 0 ? "a" : "b" }));
    await client.emitEvent({ sessionId: ids[4]!, event: { payload: { case: "statusChanged", value: { status: SessionStatus.RUNNING } } } });
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await client.listSessions({ pageSize: 4, pageToken, labels: { run } });
      expect(res.sessions.length).toBeLessThanOrEqual(4);
      seen.push(...res.sessions.map((s) => s.sessionId));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken !== "");
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBe(3);
    const a = await client.listSessions({ labels: { run, kind: "a" } });
    expect(a.sessions.map((s) => s.sessionId)).toEqual([ids[6], ids[3], ids[0]]);
    expect(a.nextPageToken).toBe("");
    const running = await client.listSessions({ labels: { run }, status: SessionStatus.RUNNING });
    expect(running.sessions.map((s) => s.sessionId)).toEqual([ids[4]]);
    // page_size 0 → 50 and huge values coerced to the maximum, never an error.
    expect((await client.listSessions({ pageSize: 0, labels: { run } })).sessions).toHaveLength(9);
    expect((await client.listSessions({ pageSize: 2_147_483_647, labels: { run } })).sessions).toHaveLength(9);
  });

  it("WIRE-4: negative page_size is INVALID_FIELD; forged, altered or other-filter tokens are INVALID_PAGE_TOKEN", async () => {
    const run = randomUUID();
    for (let i = 0; i < 3; i++) await newSession(client, { run });
    await expectRpcError(client.listSessions({ pageSize: -1 }), Code.InvalidArgument, "INVALID_FIELD", "page_size");
    const first = await client.listSessions({ pageSize: 1, labels: { run } });
    const token = first.nextPageToken;
    expect(token).not.toBe("");
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
    const forged = Buffer.from(JSON.stringify({ c: "ffffffffffffff!x", f: "x" })).toString("base64url") + ".abc";
    for (const pageToken of [forged, flip(token, 3), flip(token, token.length - 2), "not-a-token", token + ".x", "x".repeat(5000)]) {
      await expectRpcError(client.listSessions({ pageSize: 1, pageToken, labels: { run } }), Code.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token");
    }
    await expectRpcError(client.listSessions({ pageSize: 1, pageToken: token, labels: { run: "other" } }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
    await expectRpcError(client.listSessions({ pageSize: 1, pageToken: token, labels: { run }, status: SessionStatus.IDLE }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
    expect((await client.listSessions({ pageSize: 1, pageToken: token, labels: { run } })).sessions).toHaveLength(1);
  });

  it("SESS-19: delete removes the session and its log; the id becomes unknown and can be created again", async () => {
    const sessionId = await newSession(client);
    await client.emitEvent({ sessionId, event: textEvent("hello"), idempotencyKey: "k" });
    await client.acquireLease({ sessionId, holder: "h" });
    await client.deleteSession({ sessionId });
    await expectRpcError(client.getSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.getEvents({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectRpcError(client.deleteSession({ sessionId }), Code.NotFound, "SESSION_NOT_FOUND");
    await client.createSession({ sessionId, agent: { model: "m" } });
    const fresh = (await client.getSession({ sessionId })).session!;
    expect([fresh.headSeq, fresh.lease]).toEqual([0n, undefined]);
    expect((await client.getEvents({ sessionId })).events).toEqual([]);
    const again = await client.emitEvent({ sessionId, event: textEvent("other"), idempotencyKey: "k" });
    expect([again.duplicate, again.event?.seq]).toEqual([false, 1n]);
  });
});
