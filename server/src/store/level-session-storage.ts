import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionSchema, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { decodeStoredEvent } from "./event-bytes.js";
import type { AbstractSublevel } from "abstract-level";
import type { Db } from "../part.js";
import { LocalFeed } from "./local-feed.js";
import { decodeDispatch, decodeHead, decodeIdempotency, encodeDispatch, encodeHead, encodeIdempotency } from "./record-codec.js";
import {
  changeOf, refOfPosition, tenantRange, type ChangeListener, type IdempotencyRecord, type IndexEntry, type SessionHead, type SessionStorage,
  type SessionWrite, type WriteOutcome,
} from "./session-storage.js";
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
 * values. `write` is one `db.batch` with `sync: true`: every session write of a group commit
 * becomes durable together with one fsync. The database is this process's alone (LevelDB
 * locks it), so the revision check reads the stored head under the committer's single
 * writer and never races. Every write goes through the StorageHealth.
 */
export class LevelSessionStorage implements SessionStorage {
  readonly shared = false;
  readonly #db: Db;
  readonly #feed = new LocalFeed();
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

  async loadSession(sessionId: string): Promise<SessionHead> {
    const [meta, state, dispatch, head] = await Promise.all([
      this.#meta.get(sessionId), this.#state.get(sessionId), this.#dispatch.get(sessionId), this.#epochs.get(sessionId),
    ]);
    const { revision, epoch } = head ? decodeHead(head) : { revision: 0, epoch: 0 };
    if (!meta || !state) return { revision, epoch };
    const session = {
      meta: fromBinary(SessionSchema, meta),
      state: fromBinary(SessionSchema, state),
      ...(dispatch ? { dispatch: decodeDispatch(dispatch) } : {}),
    };
    return { revision, epoch, session };
  }

  async readEvents(sessionId: string, afterSeq: number, beforeSeq: number, limit: number, reverse: boolean): Promise<Event[]> {
    const values = await this.#events.values({ gt: seqKey(sessionId, afterSeq), lt: seqKey(sessionId, beforeSeq), limit, reverse }).all();
    return values.map(decodeStoredEvent);
  }

  async getIdempotency(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const value = await this.#db.get(this.#keys.prefix + `${sessionId}${SEP}${key}`); // as write() keys it
    return value ? decodeIdempotency(value) : undefined;
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

  async write(writes: readonly SessionWrite[]): Promise<WriteOutcome[]> {
    // Keys are prefixed here as the sublevel would prefix them (its `prefix`, utf8 keys and
    // raw values on both): a put through the sublevel option costs about twice as much, and
    // one append writes four or five records.
    const batch = this.#db.batch();
    const put = (sublevel: Sub, key: string, value: Uint8Array) => batch.put(sublevel.prefix + key, value);
    const del = (sublevel: Sub, key: string) => batch.del(sublevel.prefix + key);
    const heads = await this.#db.getMany(writes.map((w) => this.#epochs.prefix + w.sessionId));
    const revisions = new Map<string, number>();
    const outcomes: WriteOutcome[] = writes.map((w, i) => {
      const stored = revisions.get(w.sessionId) ?? (heads[i] ? decodeHead(heads[i]!).revision : 0);
      if (stored !== w.base) return { ok: false, conflict: true };
      const revision = stored + 1;
      revisions.set(w.sessionId, revision);
      const id = w.sessionId;
      put(this.#epochs, id, encodeHead({ revision, epoch: w.epoch }));
      if (w.deleted) {
        del(this.#meta, id);
        del(this.#state, id);
        del(this.#index, w.position);
        del(this.#dispatch, id);
        return { ok: true, revision };
      }
      if (w.meta) {
        put(this.#meta, id, toBinary(SessionSchema, w.meta));
        put(this.#index, w.position, new Uint8Array(0));
      }
      put(this.#state, id, toBinary(SessionSchema, w.state));
      if (w.dispatch) put(this.#dispatch, id, encodeDispatch(w.dispatch));
      else del(this.#dispatch, id);
      for (const { event, bytes } of w.events) put(this.#events, seqKey(id, Number(event.seq)), bytes);
      for (const k of w.keys) put(this.#keys, `${id}${SEP}${k.key}`, encodeIdempotency(k.record));
      return { ok: true, revision };
    });
    await this.#health.write(() => batch.write({ sync: true }));
    writes.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) this.#feed.emit(w.sessionId, changeOf(w, outcome.revision, true));
    });
    return outcomes;
  }

  watch(sessionId: string, afterRevision: number, listener: ChangeListener): () => void {
    return this.#feed.watch(sessionId, afterRevision, listener);
  }

  async purge(sessionId: string, _revision: number): Promise<void> {
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
