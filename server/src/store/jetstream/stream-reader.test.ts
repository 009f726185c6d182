import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionIndexes } from "./session-index.js";
import { StreamReader } from "./stream-reader.js";

// The run's shared 3-node cluster, started by nats-global-setup.ts; each test its own R3 stream.
// The last test reads a session's log (SessionIndexes) through a reader whose replica has holes.
const INDEXED_MESSAGES = 10;
const INDEXED_EVENTS_EACH = 2;
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream stream reader tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("StreamReader on a 3-node cluster", () => {
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

  /** A fresh R3 stream with `subjects` subjects under `<prefix>.`, one message each. */
  async function streamWith(subjects: number) {
    const name = `R_${randomUUID().replaceAll("-", "")}`;
    const prefix = `r${randomUUID().replaceAll("-", "")}`;
    await jsm.streams.add({ name, subjects: [`${prefix}.>`], num_replicas: 3 });
    const lastSeq = new Map<string, number>();
    const publish = async (subject: string) => lastSeq.set(subject, (await js.publish(subject, new TextEncoder().encode(subject))).seq);
    for (let i = 0; i < subjects; i++) await publish(`${prefix}.${i}`);
    return { name, prefix, lastSeq, publish, remove: () => jsm.streams.delete(name) };
  }

  it("lastPerSubject gives every subject once, as new as when it was called, while subjects are written and purged during the scan", async () => {
    const s = await streamWith(200);
    const reader = new StreamReader(js, jsm, s.name);
    let stop = false;
    const pick = () => `${s.prefix}.${Math.floor(Math.random() * 200)}`;
    const writers = Array.from({ length: 6 }, async () => {
      while (!stop) await s.publish(pick());
    });
    // As a session is deleted: a last message, then everything before it purged.
    const purgers = Array.from({ length: 2 }, async () => {
      while (!stop) {
        const subject = pick();
        await s.publish(subject);
        await jsm.streams.purge(s.name, { filter: subject, seq: s.lastSeq.get(subject)! });
      }
    });
    try {
      for (let round = 0; round < 10; round++) {
        const before = new Map(s.lastSeq);
        const fresh = `${s.prefix}.new${round}`;
        await s.publish(fresh);
        before.set(fresh, s.lastSeq.get(fresh)!);
        const scanned = await reader.lastPerSubject(`${s.prefix}.>`);
        const subjects = scanned.map((m) => m.subject);
        expect(new Set(subjects).size, "each subject once").toBe(subjects.length);
        const seqOf = new Map(scanned.map((m) => [m.subject, m.seq]));
        for (const [subject, seq] of before) expect(seqOf.get(subject), subject).toBeGreaterThanOrEqual(seq);
      }
    } finally {
      stop = true;
      await Promise.all([...writers, ...purgers]);
      await s.remove();
    }
  });

  it("a scan whose consumer sits on a replica behind the leader reads on until it has what the leader has", async () => {
    const s = await streamWith(20);
    try {
      const behind = Math.max(...s.lastSeq.values());
      // Written after the replica's view: two new subjects and a newer message of one subject.
      for (const subject of [`${s.prefix}.late1`, `${s.prefix}.late2`, `${s.prefix}.3`]) await s.publish(subject);
      const reader = new StreamReader(replicaBehind(js, behind, 2), jsm, s.name);

      const scanned = await reader.lastPerSubject(`${s.prefix}.>`);
      expect(new Map(scanned.map((m) => [m.subject, m.seq]))).toEqual(s.lastSeq);

      // A range of one subject through the consumer (longer than the gets that start it).
      const one = `${s.prefix}.ranged`;
      for (let i = 0; i < 10; i++) await s.publish(one);
      const wanted: number[] = [];
      await reader.range(one, 1, s.lastSeq.get(one)!, (m) => void wanted.push(m.seq));
      const readBehind = new StreamReader(replicaBehind(js, s.lastSeq.get(one)! - 3, 2), jsm, s.name);
      const got: number[] = [];
      await readBehind.range(one, 1, s.lastSeq.get(one)!, (m) => void got.push(m.seq));
      expect(wanted).toHaveLength(10);
      expect(got).toEqual(wanted);
    } finally {
      await s.remove();
    }
  });

  it("a read of events or of the index whose scan skips messages (a replica with holes) gets them from the leader: every event, in order", async () => {
    const stream = `I_${randomUUID().replaceAll("-", "")}`;
    const subject = `i${randomUUID().replaceAll("-", "")}.session`;
    await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: 3 });
    try {
      // A session's log: INDEXED_MESSAGES writes, each built on the one before, INDEXED_EVENTS_EACH events each.
      const seqs: number[] = [];
      for (let m = 0; m < INDEXED_MESSAGES; m++) {
        const events = Array.from({ length: INDEXED_EVENTS_EACH }, (_, i) => {
          const seq = BigInt(m * INDEXED_EVENTS_EACH + i + 1);
          return Buffer.from(toBinary(EventSchema, create(EventSchema, { seq, id: `evt_${seq}`, payload: { case: "custom", value: { type: `e${seq}` } } }))).toString("base64");
        });
        const wire = { b: seqs.at(-1) ?? 0, p: "", ms: 0, ep: 0, ev: events };
        seqs.push((await js.publish(subject, new TextEncoder().encode(JSON.stringify(wire)))).seq);
      }
      // Messages 6 and 8 missing from the replica a scan's consumer sits on, once holes are on.
      const holes = { on: false, seqs: new Set([seqs[5]!, seqs[7]!]) };
      const indexes = new SessionIndexes(new StreamReader(replicaWithHoles(js, holes), jsm, stream), jsm, stream);
      const all = Array.from({ length: INDEXED_MESSAGES * INDEXED_EVENTS_EACH }, (_, i) => i + 1);
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
      expect((await fresh.through("s", subject, seqs.at(-1)!)).head?.events.map((e) => Number(e.seq))).toEqual(all.slice(-INDEXED_EVENTS_EACH));
    } finally {
      await jsm.streams.delete(stream);
    }
  });
});

/**
 * The client with every scan's consumer made to act as if it sat on a replica that holds
 * the stream only through `seq` for its first `pulls` pulls: what came later is held back
 * (and not counted as pending), then delivered.
 */
function replicaBehind(js: JetStreamClient, seq: number, pulls: number): JetStreamClient {
  const get = async (stream: string, name: string) => {
    const consumer = await js.consumers.get(stream, name);
    const held: { subject: string; seq: number; data: Uint8Array; headers: unknown; info: { pending: number } }[] = [];
    let pulled = 0;
    return {
      delete: () => consumer.delete(),
      async fetch(options: { max_messages: number; expires: number }) {
        pulled++;
        const real = [];
        for await (const m of await consumer.fetch(options)) {
          real.push({ subject: m.subject, seq: m.seq, data: m.data, headers: m.headers, info: { pending: m.info.pending } });
          if (m.info.pending === 0) break;
        }
        if (pulled <= pulls) {
          const shown = real.filter((m) => m.seq <= seq);
          held.push(...real.filter((m) => m.seq > seq));
          return shown.map((m, i) => ({ ...m, info: { pending: shown.length - 1 - i } }));
        }
        const now = [...held.splice(0), ...real];
        return now.map((m, i) => ({ ...m, info: { pending: now.length - 1 - i } }));
      },
    };
  };
  return { consumers: { get } } as unknown as JetStreamClient;
}

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
