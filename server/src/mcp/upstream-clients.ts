import { createHash } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { guardedFetch } from "../gateway/guarded-fetch.js";
import type { OutboundPolicy } from "../gateway/outbound-policy.js";
import { loadMcpClientSdk } from "./mcp-client-sdk.js";
import { VERSION } from "../version.js";

/** Bounds of the upstream client cache. */
export const upstreamBounds = {
  /** A client unused this long is closed. */
  idleMs: 5 * 60_000,
  /** Most clients kept at once; the least recently used goes first. */
  maxClients: 256,
} as const;

interface Entry {
  readonly client: Promise<Client>;
  lastUsed: number;
}

/**
 * MCP clients to the real servers, one per (tenant, session, server, URL, secret), reused
 * across calls so a call costs one request upstream, not a handshake. The secret is part of
 * the key (as a hash): after a rotation the next call opens a new client with the new
 * secret and the old one ages out. Only this cache holds a secret outside the vault, in
 * this process's memory, for as long as a client lives.
 */
export class UpstreamClients {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: typeof fetch;
  readonly #sweeper: NodeJS.Timeout;

  constructor(policy: OutboundPolicy) {
    this.#fetch = guardedFetch(policy);
    this.#sweeper = setInterval(() => this.#sweep(), 30_000);
    this.#sweeper.unref();
  }

  /** A connected client (initialize done) for `url` with `secret` as its bearer. */
  get(scope: string, url: string, secret: string | undefined): Promise<Client> {
    const key = `${scope}\n${url}\n${secret === undefined ? "" : createHash("sha256").update(secret).digest("hex")}`;
    const found = this.#entries.get(key);
    if (found) {
      found.lastUsed = Date.now();
      return found.client;
    }
    if (this.#entries.size >= upstreamBounds.maxClients) this.#evictOldest();
    const client = this.#connect(url, secret);
    const entry: Entry = { client, lastUsed: Date.now() };
    this.#entries.set(key, entry);
    client.catch(() => this.#drop(key, entry));
    return client;
  }

  /** Forgets a client that failed (the next call connects again). */
  discard(scope: string, url: string, secret: string | undefined): void {
    const key = `${scope}\n${url}\n${secret === undefined ? "" : createHash("sha256").update(secret).digest("hex")}`;
    const entry = this.#entries.get(key);
    if (entry) this.#drop(key, entry);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => e.client.then((c) => c.close()).catch(() => undefined)));
  }

  async #connect(url: string, secret: string | undefined): Promise<Client> {
    const { Client, StreamableHTTPClientTransport } = await loadMcpClientSdk();
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: this.#fetch,
      requestInit: secret === undefined ? {} : { headers: { authorization: `Bearer ${secret}` } },
    });
    const client = new Client({ name: "oma-mcp-proxy", version: VERSION });
    await client.connect(transport);
    return client;
  }

  #drop(key: string, entry: Entry): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    void entry.client.then((c) => c.close()).catch(() => undefined);
  }

  #evictOldest(): void {
    let oldest: [string, Entry] | undefined;
    for (const e of this.#entries) if (!oldest || e[1].lastUsed < oldest[1].lastUsed) oldest = e;
    if (oldest) this.#drop(oldest[0], oldest[1]);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of [...this.#entries]) if (now - entry.lastUsed > upstreamBounds.idleMs) this.#drop(key, entry);
  }
}
