import { createOmaClient } from "@oma/client/node";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { parsePrometheusText, sampleValue, type Family } from "./testing/prometheus-text.js";

// GET /metrics on the real server: Prometheus text that an independent parser reads, behind
// an admin token, whose counters move with the work done through the public API.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ harness: { sweepIntervalMs: 60_000 } });
});
afterAll(async () => app?.stop());

type Families = Map<string, Family>;

async function scrape(token = app.adminToken): Promise<Families> {
  const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const value = sampleValue;

describe("/metrics", () => {
  it("refuses a call without a token (401) and a client token (403); answers an admin token", async () => {
    const none = await fetch(`${app.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await none.text()).toMatch(/admin token/);
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const { bearerToken } = await admin.tokens.createToken({ tenant: `t-${randomUUID().slice(0, 8)}`, role: TokenRole.CLIENT });
    const client = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${bearerToken}` } });
    expect(client.status).toBe(403);
    const bad = await fetch(`${app.url}/metrics`, { headers: { authorization: "Bearer oma_nope.nope" } });
    expect(bad.status).toBe(401);
    const families = await scrape();
    for (const name of ["oma_rpc_requests_total", "oma_append_duration_seconds", "oma_store_write_batch_events", "oma_session_watchers", "oma_lease_operations_total", "oma_brains", "oma_dispatch_queue_depth", "oma_sandboxes", "oma_tool_duration_seconds", "oma_model_tokens_total", "oma_retries_total"]) {
      expect(families.get(name), name).toBeDefined();
    }
  });

  it("counts RPCs by method and code, appends, events, tokens, retries, leases, watchers, brains and tools", async () => {
    const client = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const before = await scrape();
    const sessionId = `metrics-${randomUUID()}`;
    await client.sessions.createSession({ sessionId, agent: { model: "claude-test" } });
    await client.sessions.getSession({ sessionId: `missing-${randomUUID()}` }).catch(() => undefined);
    await client.sessions.emitEvents({
      sessionId,
      events: [
        { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "hi" } } }] } } },
        { payload: { case: "error", value: { code: "MODEL_RATE_LIMITED", message: "429", retryable: true, attempt: 1 } } },
        { payload: { case: "modelUsage", value: { model: "claude-test", inputTokens: 120n, outputTokens: 7n, cacheReadInputTokens: 1000n } } },
      ],
    });
    const lease = await client.sessions.acquireLease({ sessionId, holder: "metrics-test" });
    await client.sessions.renewLease({ sessionId, epoch: lease.lease!.epoch });
    await client.sessions.renewLease({ sessionId, epoch: lease.lease!.epoch + 7n }).catch(() => undefined);
    await client.sessions.releaseLease({ sessionId, epoch: lease.lease!.epoch });

    // An open watch is a watcher until it ends.
    const watching = new AbortController();
    const watch = client.sessions.watch(sessionId, { signal: watching.signal, onCaughtUp: () => undefined });
    await watch.next();
    const during = await scrape();
    watching.abort();
    await watch.return(undefined);

    // A woken session without a worker waits in the dispatch queue as a live brain.
    const waiting = `metrics-wake-${randomUUID()}`;
    await client.sessions.createSession({ sessionId: waiting, agent: { model: "claude-test" } });
    await client.harness.wake({ sessionId: waiting });

    const { sandbox } = await client.sandboxes.provision({ sessionId });
    const ran = await client.sandboxes.execute({ sandboxId: sandbox!.sandboxId, name: "bash", input: { command: "exit 3" } });
    expect(ran.isError).toBe(true);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta("oma_rpc_requests_total", { method: "oma.v1.SessionService/CreateSession", code: "OK" })).toBe(2);
    expect(delta("oma_rpc_requests_total", { method: "oma.v1.SessionService/GetSession", code: "NOT_FOUND" })).toBe(1);
    expect(delta("oma_rpc_requests_total", { method: "oma.v1.SessionService/RenewLease", code: "FAILED_PRECONDITION" })).toBe(1);
    expect(delta("oma_rpc_duration_seconds", { method: "oma.v1.SessionService/EmitEvents" })).toBe(1);
    expect(delta("oma_appends_total", { outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(delta("oma_append_duration_seconds")).toBeGreaterThanOrEqual(1);
    expect(delta("oma_store_write_batch_events")).toBeGreaterThanOrEqual(1);
    expect(delta("oma_store_write_duration_seconds")).toBeGreaterThanOrEqual(1);
    expect(delta("oma_events_appended_total", { kind: "model_usage" })).toBe(1);
    expect(delta("oma_events_appended_total", { kind: "user_message" })).toBe(1);
    expect(delta("oma_model_tokens_total", { model: "claude-test", type: "input" })).toBe(120);
    expect(delta("oma_model_tokens_total", { model: "claude-test", type: "output" })).toBe(7);
    expect(delta("oma_model_tokens_total", { model: "claude-test", type: "cache_read" })).toBe(1000);
    expect(delta("oma_retries_total", { code: "MODEL_RATE_LIMITED" })).toBe(1);
    expect(delta("oma_session_errors_total", { code: "MODEL_RATE_LIMITED", retryable: "true" })).toBe(1);
    expect(delta("oma_lease_operations_total", { operation: "acquire", outcome: "ok" })).toBeGreaterThanOrEqual(2);
    expect(delta("oma_lease_operations_total", { operation: "renew", outcome: "ok" })).toBe(1);
    expect(delta("oma_lease_operations_total", { operation: "renew", outcome: "LEASE_LOST" })).toBe(1);
    expect(delta("oma_lease_operations_total", { operation: "release", outcome: "ok" })).toBe(1);
    expect(value(during, "oma_session_watchers") - value(before, "oma_session_watchers")).toBe(1);
    expect(value(during, "oma_rpc_streams_open", { method: "oma.v1.SessionService/WatchEvents" })).toBe(1);
    expect(value(after, "oma_brains")).toBeGreaterThanOrEqual(1);
    expect(value(after, "oma_dispatch_queue_depth")).toBeGreaterThanOrEqual(1);
    expect(value(after, "oma_sandboxes", { backend: sandbox!.backend, state: "ready" })).toBeGreaterThanOrEqual(1);
    expect(delta("oma_tool_duration_seconds", { tool: "bash", backend: sandbox!.backend, outcome: "error" })).toBe(1);
    await client.sandboxes.destroySandbox({ sandboxId: sandbox!.sandboxId });
  });
});
