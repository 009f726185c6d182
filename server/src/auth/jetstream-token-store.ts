import { randomBytes } from "node:crypto";
import { KvWatchInclude, type KV } from "@nats-io/kv";
import type { KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/transport-node";
import { isWrongLastSequence, kvKeys, openKvBucket, type KvBucket } from "../store/jetstream/kv-bucket.js";
import { whileUnavailable } from "../store/jetstream/cluster-unavailable.js";
import { decodeToken, encodeToken } from "./token-encoding.js";
import { notifyRevoked, type TokenRecord, type TokenStore } from "./token-store.js";

export interface JetStreamTokenStoreOptions {
  /** KV bucket name (default OMA_TOKENS); tests give each store a bucket of its own. */
  readonly bucket?: string;
  /** Replicas when the bucket is created (default: 3, or 1 when the cluster has fewer nodes). */
  readonly replicas?: number;
}

/** Key of the signing key in the bucket; tokens are `token.<token id>`. */
const SIGNING_KEY = "config.signing-key";
const TOKEN_PREFIX = "token.";
/**
 * Values kept per key. A token is written at most twice (created, revoked); the signing key
 * once, except when servers race to create it (below): up to this many racing first
 * writes are kept, so that every server picks the same one.
 */
const HISTORY = 16;
/** Token ids are `tok_` and hex (bearer-token.ts); anything else is no key of ours. */
const KEYABLE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Tokens in a JetStream KV bucket that every server on the cluster shares: a token minted
 * through one server authenticates on all of them, and a revocation through one reaches
 * the others through a watch of the bucket (`onRevoked`), which ends their open streams of
 * that token. A token is one key, `token.<id>`, JSON as on LevelDB; create never replaces
 * (KV create: the key must not exist), revoke is a compare-and-set on the key's revision.
 */
export class JetStreamTokenStore implements TokenStore {
  readonly #bucket: KvBucket;
  readonly #kv: KV;
  readonly #watch: QueuedIterator<KvWatchEntry>;
  readonly #listeners = new Set<(tokenId: string) => void>();
  /** Tokens whose revocation the listeners were told (a token is revoked once; its own revoke and the watch both tell it). */
  readonly #told = new Set<string>();
  #key: Promise<Uint8Array> | undefined;

  static async open(url: string, options: JetStreamTokenStoreOptions = {}): Promise<JetStreamTokenStore> {
    const bucket = await openKvBucket(url, options.bucket ?? "OMA_TOKENS", { history: HISTORY, ...(options.replicas ? { replicas: options.replicas } : {}) });
    try {
      // Changes from now on, not the bucket's past: revocations made before this store was
      // opened are already in the records every lookup reads.
      const watch = await bucket.kv.watch({ key: `${TOKEN_PREFIX}>`, include: KvWatchInclude.UpdatesOnly });
      return new JetStreamTokenStore(bucket, watch);
    } catch (err) {
      await bucket.nc.close();
      throw err;
    }
  }

  private constructor(bucket: KvBucket, watch: QueuedIterator<KvWatchEntry>) {
    this.#bucket = bucket;
    this.#kv = bucket.kv;
    this.#watch = watch;
    void this.#hearRevocations();
  }

  async create(record: TokenRecord): Promise<void> {
    const key = keyOf(record.tokenId);
    if (!key) throw new Error(`token id ${record.tokenId} is not a valid key`);
    try {
      await this.#kv.create(key, encodeToken(record));
    } catch (err) {
      if (isWrongLastSequence(err)) throw new Error(`token id ${record.tokenId} is taken`);
      throw err;
    }
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    return (await this.#entry(tokenId))?.record;
  }

  async list(afterId: string | undefined, limit: number): Promise<TokenRecord[]> {
    // KV keys come unordered: every token id is read, then the page's records.
    const ids: string[] = [];
    for (const key of await kvKeys(this.#bucket, `${TOKEN_PREFIX}*`)) {
      const id = key.slice(TOKEN_PREFIX.length);
      if (afterId === undefined || id > afterId) ids.push(id);
    }
    ids.sort();
    const records = await Promise.all(ids.slice(0, limit).map((id) => this.get(id)));
    return records.filter((r): r is TokenRecord => r !== undefined);
  }

  async revoke(tokenId: string, atMs: number): Promise<TokenRecord | undefined> {
    for (;;) {
      const current = await this.#entry(tokenId);
      if (!current || current.record.revokeMs !== undefined) return current?.record;
      const revoked = { ...current.record, revokeMs: atMs };
      try {
        await this.#kv.update(current.key, encodeToken(revoked), current.revision);
        // Told here, before the answer, so this server refuses the token at once.
        this.#tell(tokenId);
        return revoked;
      } catch (err) {
        // Revoked (or rewritten) through another server meanwhile: read it again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  onRevoked(listener: (tokenId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  signingKey(): Promise<Uint8Array> {
    this.#key ??= this.#agreeOnSigningKey();
    return this.#key;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#watch.stop();
    await this.#bucket.nc.drain().catch(() => undefined);
  }

  /**
   * First writer wins: every server tries to create the key, and every server then uses
   * the key's first value (the lowest stream sequence), read from the stream's leader.
   * KV create alone is not enough on nats-server before 2.9.21, which checks the expected
   * last sequence only against writes already applied: two servers creating the key
   * within the same moment can both succeed (nats-server issue 4320). Both values are kept
   * (HISTORY), so both read the first. After this server's own create was acknowledged,
   * every earlier write is in the leader's stream, so the first one it reads is final.
   */
  async #agreeOnSigningKey(): Promise<Uint8Array> {
    // Tried again while the cluster does not answer (a bucket just created may have no leader yet): a create that did land makes the next one conflict.
    await whileUnavailable(async () => {
      try {
        await this.#kv.create(SIGNING_KEY, randomBytes(32));
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    });
    const { jsm, name } = this.#bucket;
    // The client's type lists only seq and last_by_subj; the leader's STREAM.MSG.GET takes next_by_subj (nats-server 2.9+).
    const first = await whileUnavailable(() => jsm.streams.getMessage(`KV_${name}`, { next_by_subj: `$KV.${name}.${SIGNING_KEY}`, seq: 1 } as unknown as { seq: number }));
    if (!first || first.data.length !== 32) throw new Error(`the token bucket ${name} holds no signing key of 32 bytes`);
    return new Uint8Array(first.data);
  }

  async #entry(tokenId: string): Promise<{ key: string; revision: number; record: TokenRecord } | undefined> {
    const key = keyOf(tokenId);
    if (!key) return undefined;
    const entry = await whileUnavailable(() => this.#kv.get(key));
    if (!entry || entry.operation !== "PUT") return undefined;
    return { key, revision: entry.revision, record: decodeToken(entry.value) };
  }

  #tell(tokenId: string): void {
    if (this.#told.has(tokenId)) return;
    this.#told.add(tokenId);
    notifyRevoked(this.#listeners, tokenId);
  }

  async #hearRevocations(): Promise<void> {
    try {
      for await (const entry of this.#watch) {
        if (entry.operation !== "PUT") continue;
        const record = decodeToken(entry.value);
        if (record.revokeMs !== undefined) this.#tell(record.tokenId);
      }
    } catch {
      // The connection closed (close()).
    }
  }
}

function keyOf(tokenId: string): string | undefined {
  return KEYABLE_ID.test(tokenId) ? `${TOKEN_PREFIX}${tokenId}` : undefined;
}
