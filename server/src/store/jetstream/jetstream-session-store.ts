import { jetstream, jetstreamManager, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { SessionLog, type SessionLogOptions } from "../session-log.js";
import { writePartBytes } from "../group-committer.js";
import type { SessionStorage } from "../session-storage.js";
import { whileUnavailable } from "./cluster-unavailable.js";
import { JetStreamStorage, type JetStreamStorageOptions } from "./jetstream-storage.js";

export interface JetStreamSessionStoreOptions extends SessionLogOptions, JetStreamStorageOptions {
  /** Replicas of the stream when it is created (default: 3, or 1 when the cluster has fewer nodes). */
  readonly replicas?: number;
  /** Wraps the storage (fault injection for conformance testing, `delayStorage`). */
  readonly wrapStorage?: (storage: SessionStorage) => SessionStorage;
  /** The largest batch the server accepts (`max_batch_bytes`): one must fit a message of the cluster. */
  readonly maxBatchBytes?: number;
}

/** `nats://host:port[,nats://…]` → the server URLs. */
export function natsServers(url: string): string[] {
  return url.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The session log engine on a NATS JetStream stream that several OMA servers share. Opens
 * a connection (reconnecting forever to any of the servers) and creates the stream if it
 * does not exist: file storage, replicated three ways when the cluster has three nodes.
 */
export class JetStreamSessionStore extends SessionLog {
  static async open(url: string, options: JetStreamSessionStoreOptions = {}): Promise<JetStreamSessionStore> {
    const nc = await connect({ servers: natsServers(url), name: "oma-server", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = options.stream ?? "OMA_SESSIONS";
      await retryWhileStarting(() => ensureStream(jsm, stream, `${options.subjectPrefix ?? "oma.session"}.>`, options.replicas));
      const storage = new JetStreamStorage(nc, jetstream(nc), jsm, { ...options, stream });
      checkMessageSize(storage, options.maxBatchBytes);
      return new JetStreamSessionStore(options.wrapStorage ? options.wrapStorage(storage) : storage, options);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  private constructor(storage: SessionStorage, options: SessionLogOptions) {
    super(storage, options);
  }
}

/**
 * A batch is one message: refuses to open on a cluster whose `max_payload` cannot carry a
 * batch of `max_batch_bytes` with its key, rather than failing such appends later.
 */
function checkMessageSize(storage: JetStreamStorage, maxBatchBytes: number | undefined): void {
  if (maxBatchBytes === undefined) return;
  const needed = writePartBytes({ events: [], keys: [{ key: "k".repeat(MAX_KEY_BYTES) }] }) + maxBatchBytes;
  if (storage.maxWriteBytes >= needed) return;
  const payload = Math.ceil((needed * 4) / 3 / (1024 * 1024)) + 1;
  throw new Error(
    `the NATS servers take messages of at most ${storage.maxWriteBytes} bytes of events and keys (their max_payload), ` +
      `too small for a batch of max_batch_bytes ${maxBatchBytes}: set max_payload: ${payload}MB on every node of the cluster`,
  );
}

/** The longest idempotency key (SESS-20). */
const MAX_KEY_BYTES = 128;

/** How long a starting server waits for a cluster that is still electing its leaders. */
const STARTUP_WAIT_MS = 30_000;

/** Runs `op` again while the cluster does not answer yet (a cluster starting up has no JetStream leader), up to STARTUP_WAIT_MS. */
export function retryWhileStarting<T>(op: () => Promise<T>): Promise<T> {
  return whileUnavailable(op, STARTUP_WAIT_MS, "the store's start");
}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

async function ensureStream(jsm: JetStreamManager, name: string, subject: string, replicas: number | undefined): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NOT_FOUND) throw err;
  }
  const config = { name, subjects: [subject], retention: RetentionPolicy.Limits, storage: StorageType.File, allow_direct: false };
  const add = async (num_replicas: number) => {
    try {
      await jsm.streams.add({ ...config, num_replicas });
    } catch (err) {
      // Another server created it at the same moment.
      if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NAME_IN_USE) throw err;
    }
  };
  try {
    await add(replicas ?? 3);
  } catch (err) {
    // A cluster of fewer than three nodes (or a single server) cannot place three replicas.
    if (replicas !== undefined || !(err instanceof JetStreamApiError)) throw err;
    await add(1);
  }
}
