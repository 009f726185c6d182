import type { Interceptor } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import { createOmaClient } from "@oma/client/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";

const custom = (i: number) => ({ case: "custom" as const, value: { type: "batching", data: { i } } });

// The SDK's keyed emit with `batch: true` against a real server: concurrent emits to one
// session share EmitEvents calls, each caller gets its own event, in the order of the calls.
describe("keyed emit, batched when asked to", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.stop();
  });

  function client() {
    const calls: string[] = [];
    const count: Interceptor = (next) => (req) => {
      calls.push(req.method.name);
      return next(req);
    };
    return { calls, sessions: createOmaClient({ baseUrl: app.url, token: app.adminToken, interceptors: [count] }).sessions };
  }

  it("60 concurrent emits to one session take fewer calls than emits, land in call order and each resolves with its own event", async () => {
    const { calls, sessions } = client();
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const sessionId = session!.sessionId;
    calls.length = 0;
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => sessions.emit(sessionId, custom(i), { batch: true })));
    expect(results.map((r) => Number(r.event!.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(results.map((r) => (r.event!.payload.case === "custom" ? r.event!.payload.value.data?.["i"] : undefined))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(calls.every((c) => c === "EmitEvents")).toBe(true);
    expect(calls.length).toBeLessThan(60);
    expect((await sessions.getSession({ sessionId })).session!.headSeq).toBe(60n);
  });

  it("a gathered call carries at most 100 emits", async () => {
    const sizes: number[] = [];
    const count: Interceptor = (next) => (req) => {
      if (req.method.name === "EmitEvents") sizes.push((req.message as unknown as { events: unknown[] }).events.length);
      return next(req);
    };
    const sessions = createOmaClient({ baseUrl: app.url, token: app.adminToken, interceptors: [count] }).sessions;
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const results = await Promise.all(Array.from({ length: 250 }, (_, i) => sessions.emit(session!.sessionId, custom(i), { batch: true })));
    expect(results.map((r) => Number(r.event!.seq))).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(Math.max(...sizes)).toBe(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
  });

  it("large emits are gathered only up to the byte bound, so a gathered call is never too large where each emit alone fits", async () => {
    const { calls, sessions } = client();
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const sessionId = session!.sessionId;
    calls.length = 0;
    // Ten events of 200 KB: 2 MB in all, twice the server's batch bound.
    const big = (i: number) => ({ case: "custom" as const, value: { type: "batching", data: { i, pad: "x".repeat(200_000) } } });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sessions.emit(sessionId, big(i), { batch: true })));
    expect(results.map((r) => Number(r.event!.seq))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.length).toBeLessThan(10);
  });

  it("emits under a stale lease epoch fail together with LEASE_LOST, and one with its own key goes alone", async () => {
    const { calls, sessions } = client();
    const { session } = await sessions.createSession({ agent: { model: "m" } });
    const sessionId = session!.sessionId;
    const { lease } = await sessions.acquireLease({ sessionId, holder: "batching-test" });
    await sessions.releaseLease({ sessionId, epoch: lease!.epoch });
    const stale = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => sessions.emit(sessionId, custom(i), { batch: true, leaseEpoch: lease!.epoch })));
    expect(stale.map((r) => r.status === "rejected" && reasonOf(r.reason))).toEqual(Array(5).fill("LEASE_LOST"));
    calls.length = 0;
    const own = await sessions.emit(sessionId, custom(9), { batch: true, idempotencyKey: "own-key" });
    expect(calls).toEqual(["EmitEvent"]);
    expect(own.event!.seq).toBe(1n);
  });
});
