import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { SessionIndexes } from "./session-index.js";
import { StreamReader } from "./stream-reader.js";

// The run's shared 3-node cluster, started by nats-global-setup.ts; the test has an R3 stream of its own.
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream session index tests: ${unavailable}`);

const MESSAGES = 10;
const EVENTS_EACH = 2;

describe.skipIf(unavailable !== undefined)("SessionIndexes on a 3-node cluster", () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: inject("natsUrl") });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
  });

  it("a read of events or of the index whose scan skips messages (a replica with holes) gets them from the leader: every event, in order", async () => {
    const stream = `I_${randomUUID().replaceAll("-", "")}`;
    const subject = `i${randomUUID().replaceAll("-", "")}.session`;
    await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: 3 });
    try {
      // A session's log: MESSAGES writes, each built on the one before, EVENTS_EACH events each.
      const seqs: number[] = [];
      for (let m = 0; m < MESSAGES; m++) {
        const events = Array.from({ length: EVENTS_EACH }, (_, i) => {
          const seq = BigInt(m * EVENTS_EACH + i + 1);
          return Buffer.from(toBinary(EventSchema, create(EventSchema, { seq, id: `evt_${seq}`, payload: { case: "custom", value: { type: `e${seq}` } } }))).toString("base64");
        });
        const wire = { b: seqs.at(-1) ?? 0, p: "", ms: 0, ep: 0, ev: events };
        seqs.push((await js.publish(subject, new TextEncoder().encode(JSON.stringify(wire)))).seq);
      }
      // Messages 6 and 8 missing from the replica a scan's consumer sits on, once holes are on.
      const holes = { on: false, seqs: new Set([seqs[5]!, seqs[7]!]) };
      const indexes = new SessionIndexes(new StreamReader(replicaWithHoles(js, holes), jsm, stream), jsm, stream);
      const all = Array.from({ length: MESSAGES * EVENTS_EACH }, (_, i) => i + 1);
      const seqsOf = (events: { seq: bigint }[]) => events.map((e) => Number(e.seq));

      expect(seqsOf(await indexes.readEvents("s", subject, 0, Number.MAX_SAFE_INTEGER, 1000, false))).toEqual(all);
      holes.on = true;
      expect(seqsOf(await indexes.readEvents("s", subject, 0, Number.MAX_SAFE_INTEGER, 1000, false))).toEqual(all);
      expect(seqsOf(await indexes.readEvents("s", subject, 9, 18, 1000, false))).toEqual(all.slice(9, 17));
      expect(seqsOf(await indexes.readEvents("s", subject, 0, Number.MAX_SAFE_INTEGER, 7, true))).toEqual(all.slice(-7).reverse());
      // An index built through such a replica: the scan delivers message 7 without 6, on
      // which it was built, and the index reads the rest from the leader.
      const fresh = new SessionIndexes(new StreamReader(replicaWithHoles(js, holes), jsm, stream), jsm, stream);
      expect(seqsOf(await fresh.readEvents("s", subject, 0, Number.MAX_SAFE_INTEGER, 1000, false))).toEqual(all);
      expect((await fresh.through("s", subject, seqs.at(-1)!)).head?.events.map((e) => Number(e.seq))).toEqual(all.slice(-EVENTS_EACH));
    } finally {
      await jsm.streams.delete(stream);
    }
  });
});

/** The client with every scan's consumer made to act as if it sat on a replica that lacks `holes.seqs` while `holes.on`. */
function replicaWithHoles(js: JetStreamClient, holes: { on: boolean; seqs: ReadonlySet<number> }): JetStreamClient {
  const get = async (stream: string, name: string) => {
    const consumer = await js.consumers.get(stream, name);
    return {
      delete: () => consumer.delete(),
      async fetch(options: { max_messages: number; expires: number }) {
        const real = [];
        for await (const m of await consumer.fetch(options)) {
          real.push({ subject: m.subject, seq: m.seq, data: m.data, headers: m.headers, info: { pending: m.info.pending } });
          if (m.info.pending === 0) break;
        }
        const shown = holes.on ? real.filter((m) => !holes.seqs.has(m.seq)) : real;
        return shown.map((m, i) => ({ ...m, info: { pending: shown.length - 1 - i } }));
      },
    };
  };
  return { consumers: { get } } as unknown as JetStreamClient;
}
