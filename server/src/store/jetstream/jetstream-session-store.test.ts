import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { describe, expect, inject, it } from "vitest";
import { defaultLimits } from "../../limits.js";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { agent, describeSessionStoreContract, uniqueRef } from "../session-store.contract.js";
import { describeSharedStoreContract } from "../shared-store.contract.js";
import { JetStreamSessionStore } from "./jetstream-session-store.js";
import { wrapStorageWrite } from "../wrap-storage-write.js";

// The run's shared 3-node cluster (R3 streams), started by nats-global-setup.ts.
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream session store tests: ${unavailable}`);
const cluster = { url: inject("natsUrl") };

describe.skipIf(unavailable !== undefined)("JetStream session store on a 3-node cluster", () => {
  // Each test its own stream, so listings see only its sessions.
  const fresh = () => ({ stream: `S_${randomUUID().replaceAll("-", "")}`, subjectPrefix: `s${randomUUID().replaceAll("-", "")}` });

  describeSessionStoreContract("JetStream R3", async () => {
    let now = Date.now();
    const store = await JetStreamSessionStore.open(cluster.url, { ...fresh(), now: () => now });
    return { store, advance: (ms) => (now += ms), close: () => store.close() };
  });

  describeSharedStoreContract("JetStream R3, two connections", async () => {
    let now = Date.now();
    const where = fresh();
    const a = await JetStreamSessionStore.open(cluster.url, { ...where, now: () => now });
    const b = await JetStreamSessionStore.open(cluster.url, { ...where, now: () => now, maxCachedSessions: 2 });
    return { a, b, advance: (ms) => (now += ms), close: async () => void (await Promise.all([a.close(), b.close()])) };
  });

  // A write is one message, bounded by the servers' max_payload (2 MB in the test cluster).
  const batchOf = (tag: string, bytes: number) =>
    Array.from({ length: 4 }, (_, i) => create(EventSchema, { payload: { case: "custom", value: { type: `${tag}-${i}`, data: { pad: "p".repeat(bytes / 4 - 64) } } } }));

  it("SESS-4: batches of max_batch_bytes appended at once to one session each land whole, though together they exceed a message", async () => {
    // Wrapped as the server wraps it (metrics), so the bound is read through the wrapper.
    const store = await JetStreamSessionStore.open(cluster.url, { ...fresh(), maxBatchBytes: defaultLimits.maxBatchBytes, wrapStorage: (s) => wrapStorageWrite(s, (w) => s.write(w)) });
    try {
      const ref = uniqueRef();
      await store.createSession({ ...ref, labels: {}, agent });
      const batches = Array.from({ length: 6 }, (_, i) => batchOf(`b${i}`, defaultLimits.maxBatchBytes));
      const appended = await Promise.all(batches.map((events, i) => store.append(ref, events, { idempotencyKey: `k${i}` })));
      const seqs = appended.flatMap((a) => a.events.map((e) => Number(e.seq))).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      for (const a of appended) expect(a.events.map((e) => Number(e.seq))).toEqual([0, 1, 2, 3].map((i) => Number(a.events[0]!.seq) + i));
      const read = await store.readEvents(ref, { afterSeq: 0, beforeSeq: 0, limit: 100, order: "asc" });
      expect(read.events).toHaveLength(24);
      const readSeq = new Map(read.events.map((e) => [e.id, Number(e.seq)]));
      for (const e of appended.flatMap((a) => a.events)) expect(readSeq.get(e.id)).toBe(Number(e.seq));
    } finally {
      await store.close();
    }
  });

  it("refuses to open on a cluster whose max_payload cannot carry a batch of max_batch_bytes, naming the setting", async () => {
    await expect(JetStreamSessionStore.open(cluster.url, { ...fresh(), maxBatchBytes: 4 * 1024 * 1024 })).rejects.toThrow(/max_payload: 7MB/);
  });
});
