import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionSchema, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import type { AbstractSublevel } from "abstract-level";
import type { Db } from "../part.js";
import { decodeDispatch, decodeIdempotency, decodeUint64, encodeDispatch, encodeIdempotency, encodeUint64 } from "./record-codec.js";
import { refOfPosition, tenantRange, type IdempotencyRecord, type IndexEntry, type SessionStorage, type StoredSession, type WriteOp } from "./session-storage.js";
import type { DispatchRecord } from "./session-store.js";
import { StorageHealth } from "./storage-health.js";

type Sub = AbstractSublevel<Db, string | Uint8Array | Buffer, string, Uint8Array>;

/** Keys `<session id>!<seq as 16 hex digits>`: one session's events are one ordered key range. */
const SEP = "!";
const seqKey = (sessionId: string, seq: number) => `${sessionId}${SEP}${seq.toString(16).padStart(16, "0")}`;
/** The first key after every key with this prefix ("!" + 1 = '"'). */
const prefixEnd = (sessionId: string) => `${sessionId}"`;

/**
 * SessionStorage on the server's LevelDB, one sublevel per collection, protobuf binary
 * values. `write` is one `db.batch` with `sync: true`: every operation of a group commit
 * becomes durable together with one fsync. Every write goes through the StorageHealth.
 */
export class LevelSessionStorage implements SessionStorage {
  readonly #db: Db;
  readonly #meta: Sub;
  readonly #state: Sub;
  readonly #events: Sub;
  readonly #keys: Sub;
  readonly #epochs: Sub;
  readonly #index: Sub;
  readonly #dispatch: Sub;
  readonly #health: StorageHealth;

  constructor(db: Db, name = "session", health = new StorageHealth()) {
    this.#db = db;
    this.#health = health;
    const root = db.sublevel<string, Uint8Array>(name, { valueEncoding: "view" });
    const sub = (n: string) => root.sublevel<string, Uint8Array>(n, { valueEncoding: "view" }) as unknown as Sub;
    this.#meta = sub("meta");
    this.#state = sub("state");
    this.#events = sub("events");
    this.#keys = sub("idempotency");
    this.#epochs = sub("epochs");
    this.#index = sub("index");
    this.#dispatch = sub("dispatch");
  }

  async loadSession(sessionId: string): Promise<StoredSession | undefined> {
    const [meta, state, dispatch] = await Promise.all([this.#meta.get(sessionId), this.#state.get(sessionId), this.#dispatch.get(sessionId)]);
    if (!meta || !state) return undefined;
    return {
      meta: fromBinary(SessionSchema, meta),
      state: fromBinary(SessionSchema, state),
      ...(dispatch ? { dispatch: decodeDispatch(dispatch) } : {}),
    };
  }

  async loadMeta(sessionId: string): Promise<Session | undefined> {
    const meta = await this.#meta.get(sessionId);
    return meta ? fromBinary(SessionSchema, meta) : undefined;
  }

  async readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    const values = await this.#events.values({ gt: seqKey(sessionId, afterSeq), lt: seqKey(sessionId, beforeSeq), limit, reverse }).all();
    return values.map((v) => fromBinary(EventSchema, v));
  }

  async getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const value = await this.#keys.get(`${sessionId}${SEP}${key}`);
    return value ? decodeIdempotency(value) : undefined;
  }

  async getEpoch(sessionId: string): Promise<number> {
    const value = await this.#epochs.get(sessionId);
    return value ? decodeUint64(value) : 0;
  }

  async *listIndex(tenant: string | undefined, cursor: string | undefined): AsyncIterable<IndexEntry> {
    const range = tenantRange(tenant);
    const keys = this.#index.keys({ reverse: true, ...range, ...(cursor === undefined ? {} : { lt: cursor }) });
    try {
      for await (const position of keys) {
        yield { position, ref: refOfPosition(position) };
      }
    } finally {
      await keys.close();
    }
  }

  async *listDispatches(cursor: string | undefined): AsyncIterable<DispatchRecord> {
    const entries = this.#dispatch.values(cursor === undefined ? {} : { gt: cursor });
    try {
      for await (const value of entries) yield decodeDispatch(value);
    } finally {
      await entries.close();
    }
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    const batch = this.#db.batch();
    const put = (sublevel: Sub, key: string, value: Uint8Array) => batch.put(key, value, { sublevel });
    // Appends to one session in one group each carry its state; only the last one matters.
    const lastState = new Map<string, WriteOp>();
    for (const op of ops) if (op.kind === "putState") lastState.set(op.sessionId, op);
    for (const op of ops) {
      switch (op.kind) {
        case "createSession":
          put(this.#meta, op.sessionId, toBinary(SessionSchema, op.meta));
          put(this.#state, op.sessionId, toBinary(SessionSchema, op.state));
          put(this.#index, op.position, new Uint8Array(0));
          break;
        case "putState":
          if (lastState.get(op.sessionId) === op) put(this.#state, op.sessionId, toBinary(SessionSchema, op.state));
          break;
        case "putEvents":
          for (const e of op.events) put(this.#events, seqKey(op.sessionId, Number(e.seq)), toBinary(EventSchema, e));
          break;
        case "putIdempotency":
          put(this.#keys, `${op.sessionId}${SEP}${op.key}`, encodeIdempotency(op.record));
          break;
        case "putEpoch":
          put(this.#epochs, op.sessionId, encodeUint64(op.epoch));
          break;
        case "putDispatch":
          put(this.#dispatch, op.sessionId, encodeDispatch(op.record));
          break;
        case "deleteDispatch":
          batch.del(op.sessionId, { sublevel: this.#dispatch });
          break;
        case "deleteSession":
          batch.del(op.sessionId, { sublevel: this.#meta });
          batch.del(op.sessionId, { sublevel: this.#state });
          batch.del(op.position, { sublevel: this.#index });
          batch.del(op.sessionId, { sublevel: this.#dispatch });
          break;
      }
    }
    await this.#health.write(() => batch.write({ sync: true }));
  }

  async purge(sessionId: string): Promise<void> {
    const range = { gte: `${sessionId}${SEP}`, lt: prefixEnd(sessionId) };
    await this.#health.write(async () => {
      await this.#events.clear(range);
      await this.#keys.clear(range);
    });
  }

  async close(): Promise<void> {
    // The database belongs to the app, which closes it after every part.
  }
}
