import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { emitEvent, userText } from "./emit.js";
import { OmaRpcError } from "./errors.js";
import { EventSchema, type Event } from "./gen/oma/v1/event_pb.js";
import { SessionService } from "./gen/oma/v1/session_service_pb.js";
import { fakeSessionService, omaError } from "./testing/fake-session-service.js";

const fast = { initialDelayMs: 1, maxDelayMs: 2 };

/** A log that honours idempotency keys the way SESS-3 says, and can lose the acknowledgement. */
function idempotentLog(failures: (attempt: number) => ConnectError | undefined, failAfterAppend: boolean) {
  const appended: Event[] = [];
  const byKey = new Map<string, Event>();
  const emit = async (req: { idempotencyKey: string; event?: { payload: Event["payload"] } }, attempt: number) => {
    const failure = failures(attempt);
    if (failure && !failAfterAppend) throw failure;
    let event = byKey.get(req.idempotencyKey);
    if (!event) {
      event = create(EventSchema, { seq: BigInt(appended.length + 1), payload: req.event?.payload });
      appended.push(event);
      byKey.set(req.idempotencyKey, event);
    }
    if (failure) throw failure;
    return event;
  };
  return { appended, emit };
}

describe("emitEvent retries under one idempotency key (SESS-3)", () => {
  it("retries a lost acknowledgement with the same key, and the log holds the event once", async () => {
    const log = idempotentLog((n) => (n <= 2 ? new ConnectError("connection reset", Code.Unavailable) : undefined), true);
    const fake = fakeSessionService({ emit: (req, n) => log.emit(req, n) });
    const res = await emitEvent(createClient(SessionService, fake.transport), "ses_e", userText("hello"), { backoff: fast });
    expect(fake.emitRequests).toHaveLength(3);
    const keys = new Set(fake.emitRequests.map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
    expect([...keys][0]).not.toBe("");
    expect(log.appended).toHaveLength(1);
    expect(res.event?.seq).toBe(1n);
  });

  it("gives every logical call its own key", async () => {
    const log = idempotentLog(() => undefined, false);
    const fake = fakeSessionService({ emit: (req, n) => log.emit(req, n) });
    const client = createClient(SessionService, fake.transport);
    await emitEvent(client, "ses_e", userText("a"));
    await emitEvent(client, "ses_e", userText("a"));
    expect(new Set(fake.emitRequests.map((r) => r.idempotencyKey)).size).toBe(2);
    expect(log.appended).toHaveLength(2);
  });

  it("uses the caller's key, head and lease fencing on every attempt", async () => {
    const log = idempotentLog((n) => (n === 1 ? new ConnectError("down", Code.Unavailable) : undefined), false);
    const fake = fakeSessionService({ emit: (req, n) => log.emit(req, n) });
    await emitEvent(createClient(SessionService, fake.transport), "ses_e", userText("x"), { idempotencyKey: "mine-1", expectedHeadSeq: 7, leaseEpoch: 3n, backoff: fast });
    expect(fake.emitRequests.map((r) => [r.idempotencyKey, r.expectedHeadSeq, r.leaseEpoch])).toEqual([
      ["mine-1", 7n, 3n],
      ["mine-1", 7n, 3n],
    ]);
  });

  it("does not retry an answer with an OMA reason and throws it typed", async () => {
    const fake = fakeSessionService({
      emit: async () => {
        throw omaError(Code.FailedPrecondition, "HEAD_SEQ_MISMATCH", { head_seq: "9", expected_head_seq: "7" });
      },
    });
    const err = await emitEvent(createClient(SessionService, fake.transport), "ses_e", userText("x"), { expectedHeadSeq: 7, backoff: fast }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmaRpcError);
    expect((err as OmaRpcError).code).toBe(Code.FailedPrecondition);
    expect((err as OmaRpcError).reason).toBe("HEAD_SEQ_MISMATCH");
    expect((err as OmaRpcError).errorMetadata["head_seq"]).toBe("9");
    expect(fake.emitRequests).toHaveLength(1);
  });

  it("stops after maxAttempts and throws the last transport error", async () => {
    const fake = fakeSessionService({
      emit: async () => {
        throw new ConnectError("down", Code.Unavailable);
      },
    });
    const err = await emitEvent(createClient(SessionService, fake.transport), "ses_e", userText("x"), { maxAttempts: 3, backoff: fast }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(fake.emitRequests).toHaveLength(3);
  });

  it("bounds each attempt with timeoutMs and retries a hung one under the same key", async () => {
    const log = idempotentLog(() => undefined, false);
    const fake = fakeSessionService({
      emit: async (req, n, ctx) => {
        if (n === 1) await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        return log.emit(req, n);
      },
    });
    const res = await emitEvent(createClient(SessionService, fake.transport), "ses_e", userText("x"), { timeoutMs: 50, backoff: fast });
    expect(fake.emitRequests).toHaveLength(2);
    expect(new Set(fake.emitRequests.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(res.event?.seq).toBeGreaterThanOrEqual(1n);
  });
});
