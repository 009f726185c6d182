import type { KV } from "@nats-io/kv";
import { openKvBucket, type KvBucket } from "../store/jetstream/kv-bucket.js";
import { whileUnavailable } from "../store/jetstream/cluster-unavailable.js";
import { SANDBOX_ID } from "./sandbox-ids.js";

/** The server that holds a sandbox: its instance id and where other servers reach it. */
export interface SandboxOwner {
  readonly instanceId: string;
  readonly url: string;
}

/**
 * Where each sandbox of a system of several servers lives. A sandbox stays on the host of
 * the server that made it; the others find that server here and forward calls to it.
 */
export interface SandboxLocations {
  /** Records that this server holds the sandbox. */
  placed(sandboxId: string): Promise<void>;
  /** Forgets the sandbox (destroyed or reaped). */
  removed(sandboxId: string): Promise<void>;
  /** The server that holds the sandbox, if any server recorded it. */
  ownerOf(sandboxId: string): Promise<SandboxOwner | undefined>;
  close(): Promise<void>;
}

export interface JetStreamSandboxLocationsOptions {
  /** KV bucket name (default OMA_SANDBOXES). */
  readonly bucket?: string;
  readonly replicas?: number;
}

/**
 * Sandbox locations in a JetStream KV bucket shared by the servers on one cluster: key
 * `sandbox.<sandbox id>` (ids are `sbx_` and hex, valid keys), value the owner as JSON.
 * The URL is read when a sandbox is placed, since a server learns its own port only once
 * it listens.
 */
export class JetStreamSandboxLocations implements SandboxLocations {
  readonly #bucket: KvBucket;
  readonly #kv: KV;
  readonly #owner: () => SandboxOwner;

  static async open(url: string, owner: () => SandboxOwner, options: JetStreamSandboxLocationsOptions = {}): Promise<JetStreamSandboxLocations> {
    const bucket = await openKvBucket(url, options.bucket ?? "OMA_SANDBOXES", options.replicas ? { replicas: options.replicas } : {});
    return new JetStreamSandboxLocations(bucket, owner);
  }

  private constructor(bucket: KvBucket, owner: () => SandboxOwner) {
    this.#bucket = bucket;
    this.#kv = bucket.kv;
    this.#owner = owner;
  }

  async placed(sandboxId: string): Promise<void> {
    await this.#kv.put(keyOf(sandboxId), JSON.stringify(this.#owner()));
  }

  async removed(sandboxId: string): Promise<void> {
    await this.#kv.delete(keyOf(sandboxId));
  }

  async ownerOf(sandboxId: string): Promise<SandboxOwner | undefined> {
    if (!SANDBOX_ID.test(sandboxId)) return undefined;
    const entry = await whileUnavailable(() => this.#kv.get(keyOf(sandboxId)));
    if (!entry || entry.operation !== "PUT") return undefined;
    return entry.json<SandboxOwner>();
  }

  async close(): Promise<void> {
    await this.#bucket.nc.drain().catch(() => undefined);
  }
}

function keyOf(sandboxId: string): string {
  if (!SANDBOX_ID.test(sandboxId)) throw new Error(`not a sandbox id: ${sandboxId}`);
  return `sandbox.${sandboxId}`;
}
