import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { JetStreamApiError } from "@nats-io/jetstream";
import { ClosedConnectionError, NoRespondersError, TimeoutError } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OmaError } from "../../errors/oma-error.js";
import { reasonCodes } from "../../errors/reason-codes.js";
import { NatsCluster, natsUnavailable } from "../../testing/nats-cluster.js";
import { agent, uniqueRef } from "../session-store.contract.js";
import { isClusterUnavailable, storageUnavailable, whileUnavailable } from "./cluster-unavailable.js";
import { JetStreamSessionStore } from "./jetstream-session-store.js";

const apiError = (code: number) => new JetStreamApiError({ code: 503, err_code: code, description: `api error ${code}` });

describe("a NATS cluster that does not answer", () => {
  it("is told from a cluster that refuses: timeouts, no responders, a lost connection and leaderless streams, not API refusals or bugs", () => {
    for (const err of [new TimeoutError(), new NoRespondersError("$JS.API.STREAM.MSG.GET.S"), new ClosedConnectionError(), apiError(10008)]) expect(isClusterUnavailable(err), err.name).toBe(true);
    for (const err of [apiError(10071), apiError(10059), new TypeError("x is undefined"), new Error("plain")]) expect(isClusterUnavailable(err), err.message).toBe(false);
  });

  it("answers UNAVAILABLE / STORAGE_UNAVAILABLE naming the fault, and says a write may have been stored", () => {
    const read = storageUnavailable("a read of events", new TimeoutError());
    expect(read).toBeInstanceOf(OmaError);
    expect(read.reason).toBe("STORAGE_UNAVAILABLE");
    expect(reasonCodes[read.reason]).toBe(14);
    expect(read.metadata).toEqual({ cause: "TimeoutError" });
    expect(read.message).toMatch(/NATS cluster did not answer \(a read of events, TimeoutError: timeout\); try again$/);
    expect(storageUnavailable("a write", new TimeoutError(), { write: true }).message).toMatch(/the write may or may not have been stored/);
  });

  it("a read is tried again while the fault may pass, then answered STORAGE_UNAVAILABLE; a closed connection at once; a refusal as it is", async () => {
    let calls = 0;
    await expect(whileUnavailable(async () => (++calls < 3 ? Promise.reject(new TimeoutError()) : "read"), 5_000)).resolves.toBe("read");
    expect(calls).toBe(3);

    calls = 0;
    const gaveUp = await whileUnavailable(() => (calls++, Promise.reject(new NoRespondersError("s"))), 300).catch((err: unknown) => err);
    expect(gaveUp).toMatchObject({ reason: "STORAGE_UNAVAILABLE", metadata: { cause: "NoResponders" } });
    expect(calls).toBeGreaterThan(1);
    // A store's start (retryWhileStarting) waits the same way, and its answer says what waited.
    await expect(whileUnavailable(() => Promise.reject(new TimeoutError()), 300, "the store's start")).rejects.toThrow(/\(the store's start, tried for 300 ms, TimeoutError: timeout\)/);

    calls = 0;
    await expect(whileUnavailable(() => (calls++, Promise.reject(new ClosedConnectionError())), 5_000)).rejects.toMatchObject({ reason: "STORAGE_UNAVAILABLE", metadata: { cause: "ClosedConnectionError" } });
    expect(calls).toBe(1);

    calls = 0;
    const refusal = apiError(10059);
    await expect(whileUnavailable(() => (calls++, Promise.reject(refusal)), 5_000)).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });
});

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream store's lost-cluster test: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("the JetStream session store while its one NATS node is down", () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await NatsCluster.start(1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("SESS-21: answers STORAGE_UNAVAILABLE (not INTERNAL) for reads and writes, then takes writes again once the node is back; the event lands once", async () => {
    const store = await JetStreamSessionStore.open(cluster.url, { stream: "LOST_NODE", subjectPrefix: "lost", unavailableWaitMs: 1_000 });
    try {
      const ref = uniqueRef();
      await store.createSession({ ...ref, labels: {}, agent });
      const event = (type: string) => create(EventSchema, { payload: { case: "custom", value: { type } } });
      await store.append(ref, [event("before")], { idempotencyKey: "before" });

      await cluster.kill(0);
      const write = await store.append(ref, [event("during")], { idempotencyKey: "during" }).catch((err: unknown) => err);
      expect(write).toMatchObject({ reason: "STORAGE_UNAVAILABLE" });
      expect((write as Error).message).toMatch(/NATS cluster did not answer/);
      const list = await store.listSessions({ tenant: undefined, pageSize: 10, status: SessionStatus.UNSPECIFIED, labels: {} }).catch((err: unknown) => err);
      expect(list).toMatchObject({ reason: "STORAGE_UNAVAILABLE" });

      cluster.restart(0);
      // Retried under its idempotency key, as the answer says, until the node is back.
      let appended;
      for (const deadline = Date.now() + 30_000; !appended; ) {
        appended = await store.append(ref, [event("during")], { idempotencyKey: "during" }).catch((err: unknown) => {
          if (!(err instanceof OmaError && err.reason === "STORAGE_UNAVAILABLE") || Date.now() > deadline) throw err;
          return new Promise<undefined>((r) => setTimeout(r, 250, undefined));
        });
      }
      const read = await store.readEvents(ref, { afterSeq: 0, beforeSeq: 0, limit: 10, order: "asc" });
      expect(read.events.map((e) => (e.payload.case === "custom" ? e.payload.value.type : e.payload.case))).toEqual(["before", "during"]);
      expect(read.events.map((e) => Number(e.seq))).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  }, 90_000);
});
