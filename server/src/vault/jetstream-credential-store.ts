import type { KV } from "@nats-io/kv";
import { openKvBucket, writeOnRevision, type KvBucket } from "../store/jetstream/kv-bucket.js";
import { whileUnavailable } from "../store/jetstream/cluster-unavailable.js";
import type { CredentialStore, StoredCredential } from "./credential-store.js";

export interface JetStreamCredentialStoreOptions {
  /** KV bucket name (default OMA_VAULT); tests give each store a bucket of its own. */
  readonly bucket?: string;
  /** Replicas when the bucket is created (default: 3, or 1 when the cluster has fewer nodes). */
  readonly replicas?: number;
}

/** A tenant's ids, and when each was taken (ms): the one key that makes "absent and below the bound" one write. */
type TenantIndex = Record<string, number>;

const KEY_CHECK = "config.key-check";
/**
 * An id in a tenant's index whose record has not appeared this long after it was taken
 * was left by a server that died between the two writes of a create: the next create of
 * that id takes it over. Far above the moment between the two writes of a live create.
 */
const ORPHAN_AFTER_MS = 60_000;

const part = (s: string) => Buffer.from(s).toString("base64url");
const indexKey = (tenant: string) => `tenant.${part(tenant)}`;
const recordKey = (tenant: string, credentialId: string) => `credential.${part(tenant)}.${part(credentialId)}`;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * Credentials in a JetStream KV bucket that every server on the cluster shares (`OMA_VAULT`,
 * R3 on three nodes): a credential created through one server is revealed by the proxies
 * of all of them, and an update or delete through one is what the next request on any
 * other uses (every reveal reads the bucket's leader; nothing is cached).
 *
 * Keys: `credential.<tenant>.<id>` (JSON as on LevelDB, the secret sealed) and
 * `tenant.<tenant>`, the tenant's ids. A create is a compare-and-set of the tenant's ids
 * (the id absent, fewer than the bound), then the record; a delete removes the record,
 * then the id. Every write names the revision it was decided on (expected last subject
 * sequence) and carries the message id `<key>@<revision>`, so that two writes decided on
 * one revision cannot both land, even within the moment nats-server before 2.9.21 checks
 * the revision only against applied writes (see `../store/jetstream/README.md`).
 *
 * The vault key is not here: every server is started with the same `OMA_VAULT_KEY`, and
 * `bindKey` keeps only its check value, first writer wins.
 */
export class JetStreamCredentialStore implements CredentialStore {
  readonly #bucket: KvBucket;
  readonly #kv: KV;
  readonly #now: () => number;

  static async open(url: string, options: JetStreamCredentialStoreOptions = {}): Promise<JetStreamCredentialStore> {
    const bucket = await openKvBucket(url, options.bucket ?? "OMA_VAULT", options.replicas ? { replicas: options.replicas } : {});
    return new JetStreamCredentialStore(bucket);
  }

  private constructor(bucket: KvBucket, now: () => number = Date.now) {
    this.#bucket = bucket;
    this.#kv = bucket.kv;
    this.#now = now;
  }

  async insert(record: StoredCredential, maxPerTenant: number): Promise<"inserted" | "exists" | "full"> {
    const { tenant, credentialId } = record;
    for (;;) {
      const index = await this.#index(tenant);
      const takenAt = index.ids[credentialId];
      if (takenAt !== undefined && !(await this.#isOrphan(tenant, credentialId, takenAt))) return "exists";
      if (takenAt === undefined && Object.keys(index.ids).length >= maxPerTenant) return "full";
      const ids = { ...index.ids, [credentialId]: this.#now() };
      if ((await writeOnRevision(this.#bucket, indexKey(tenant), json(ids), index.revision)) === "conflict") continue;
      const current = await this.#entry(recordKey(tenant, credentialId));
      // The id is this create's now: nobody else writes its record until it is deleted again.
      if ((await writeOnRevision(this.#bucket, recordKey(tenant, credentialId), json(record), current.revision)) === "conflict") {
        throw new Error(`credential ${credentialId} was written by another server while it was being created`);
      }
      return "inserted";
    }
  }

  async replace(record: StoredCredential): Promise<boolean> {
    const key = recordKey(record.tenant, record.credentialId);
    for (;;) {
      const current = await this.#entry(key);
      if (!current.value) return false;
      // A conflict: the record was replaced or deleted meanwhile; decide again on it.
      if ((await writeOnRevision(this.#bucket, key, json(record), current.revision)) !== "conflict") return true;
    }
  }

  async get(tenant: string, credentialId: string): Promise<StoredCredential | undefined> {
    const { value } = await this.#entry(recordKey(tenant, credentialId));
    return value ? (JSON.parse(new TextDecoder().decode(value)) as StoredCredential) : undefined;
  }

  async list(tenant: string, afterId: string | undefined, limit: number): Promise<StoredCredential[]> {
    const ids = Object.keys((await this.#index(tenant)).ids)
      .filter((id) => afterId === undefined || id > afterId)
      .sort();
    const page: StoredCredential[] = [];
    // Ids whose record is not there (a create half done) are skipped: read on until the page is full.
    for (let from = 0; from < ids.length && page.length < limit; from += limit) {
      const records = await Promise.all(ids.slice(from, from + limit).map((id) => this.get(tenant, id)));
      page.push(...records.filter((r): r is StoredCredential => r !== undefined));
    }
    return page.slice(0, limit);
  }

  async remove(tenant: string, credentialId: string): Promise<boolean> {
    const key = recordKey(tenant, credentialId);
    let removed = false;
    for (;;) {
      const current = await this.#entry(key);
      if (!current.value) break;
      if ((await writeOnRevision(this.#bucket, key, undefined, current.revision)) !== "conflict") {
        removed = true;
        break;
      }
    }
    if (!removed) return false;
    for (;;) {
      const index = await this.#index(tenant);
      if (index.ids[credentialId] === undefined) return true;
      const { [credentialId]: _, ...rest } = index.ids;
      if ((await writeOnRevision(this.#bucket, indexKey(tenant), json(rest), index.revision)) !== "conflict") return true;
    }
  }

  async bindKey(check: Uint8Array): Promise<boolean> {
    for (;;) {
      const current = await this.#entry(KEY_CHECK);
      if (current.value) return Buffer.from(current.value).equals(Buffer.from(check));
      // First writer wins; a server that lost the race compares with the winner's value.
      if ((await writeOnRevision(this.#bucket, KEY_CHECK, check, current.revision)) !== "conflict") return true;
    }
  }

  async close(): Promise<void> {
    await this.#bucket.nc.drain().catch(() => undefined);
  }

  /** A key's value (undefined when absent or deleted) and the revision to write on (0 when it never existed). */
  async #entry(key: string): Promise<{ value: Uint8Array | undefined; revision: number }> {
    const entry = await whileUnavailable(() => this.#kv.get(key));
    if (!entry) return { value: undefined, revision: 0 };
    return { value: entry.operation === "PUT" ? entry.value : undefined, revision: entry.revision };
  }

  async #index(tenant: string): Promise<{ ids: TenantIndex; revision: number }> {
    const { value, revision } = await this.#entry(indexKey(tenant));
    return { ids: value ? (JSON.parse(new TextDecoder().decode(value)) as TenantIndex) : {}, revision };
  }

  async #isOrphan(tenant: string, credentialId: string, takenAt: number): Promise<boolean> {
    return this.#now() - takenAt > ORPHAN_AFTER_MS && (await this.#entry(recordKey(tenant, credentialId))).value === undefined;
  }
}
