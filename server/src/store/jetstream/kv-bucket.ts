import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { natsServers, retryWhileStarting } from "./jetstream-session-store.js";
import { asStorageAnswer, whileUnavailable } from "./cluster-unavailable.js";
import { StreamReader } from "./stream-reader.js";

export interface KvBucketOptions {
  /** Replicas when the bucket is created (default: 3, or 1 when the cluster has fewer nodes). */
  readonly replicas?: number;
  /** Values kept per key (default 1). */
  readonly history?: number;
}

/** A KV bucket on its own connection (reconnecting forever to any of the servers). */
export interface KvBucket {
  readonly nc: NatsConnection;
  readonly kv: KV;
  readonly name: string;
  /** The manager of the bucket's stream (`KV_<name>`), for leader reads the KV API lacks. */
  readonly jsm: JetStreamManager;
}

/**
 * Opens the KV bucket `name` on the cluster, creating it if it does not exist: file
 * storage, replicated like the session stream (three ways when the cluster has three
 * nodes), reads from the stream's leader (no direct gets, which may answer from a replica
 * that is behind).
 */
export async function openKvBucket(url: string, name: string, options: KvBucketOptions = {}): Promise<KvBucket> {
  const nc = await connect({ servers: natsServers(url), name: "oma-server", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const kvm = new Kvm(jetstream(nc));
    const open = (replicas: number) => retryWhileStarting(() => kvm.create(name, { replicas, history: options.history ?? 1, allow_direct: false }));
    let kv: KV;
    try {
      kv = await open(options.replicas ?? 3);
    } catch (err) {
      // A cluster of fewer than three nodes (or a single server) cannot place three replicas.
      if (options.replicas !== undefined || !(err instanceof JetStreamApiError)) throw err;
      kv = await open(1);
    }
    const jsm = await jetstreamManager(nc);
    await untilLed(jsm, `KV_${name}`);
    return { nc, kv, name, jsm };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

/**
 * The keys under `filter` (a key pattern: `tok.*`) whose last value is not a delete, as of
 * the stream leader's state. The KV API's own `keys()` reads through a consumer that may sit
 * on a replica behind the leader, so a key just written could be missing from it
 * (`StreamReader.lastPerSubject`).
 */
export async function kvKeys(bucket: KvBucket, filter: string): Promise<string[]> {
  const stream = `KV_${bucket.name}`;
  const subjectPrefix = `$KV.${bucket.name}.`;
  const last = await new StreamReader(jetstream(bucket.nc), bucket.jsm, stream).lastPerSubject(`${subjectPrefix}${filter}`);
  return last.filter((m) => !["DEL", "PURGE"].includes(m.headers?.get("KV-Operation") ?? "")).map((m) => m.subject.slice(subjectPrefix.length));
}

/** JetStream's answer to a write whose expected last sequence of the key is not the key's. */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * Writes `value` (or, when undefined, a delete marker) to `key` only if the key's last
 * revision is still `revision` (0: the key never existed); "conflict" when it is not, and
 * nothing is written. The message id `<key>@<revision>` closes the moment in which
 * nats-server before 2.9.21 checks the revision only against applied writes (nats-server issue 4320):
 * the leader also refuses a second write decided on the same revision as a duplicate.
 * Revisions are stream seqs, never reused, so the id never repeats otherwise.
 */
export async function writeOnRevision(bucket: KvBucket, key: string, value: Uint8Array | undefined, revision: number): Promise<number | "conflict"> {
  const h = headers();
  if (value === undefined) h.set("KV-Operation", "DEL");
  try {
    const ack = await jetstream(bucket.nc).publish(`$KV.${bucket.name}.${key}`, value ?? new Uint8Array(), {
      headers: h,
      msgID: `${key}@${revision}`,
      expect: { lastSubjectSequence: revision },
    });
    return ack.duplicate ? "conflict" : ack.seq;
  } catch (err) {
    if (isWrongLastSequence(err)) return "conflict";
    throw asStorageAnswer(err, `a write of ${bucket.name}`, { write: true });
  }
}

/**
 * Waits until the bucket's stream has a leader: a bucket just created has none for a
 * moment, and a write sent then waits out the whole request timeout (5 s). Until every
 * server has applied the creation, the one that answers may not know the stream yet
 * ("stream not found" right after a successful create): that is waited out too.
 */
export async function untilLed(jsm: Pick<JetStreamManager, "streams">, stream: string, waitMs = LEADER_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const info = await whileUnavailable(() => jsm.streams.info(stream)).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound && Date.now() <= deadline) return undefined;
      throw err;
    });
    if (info && (!info.cluster || info.cluster.leader || Date.now() > deadline)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const LEADER_WAIT_MS = 10_000;
