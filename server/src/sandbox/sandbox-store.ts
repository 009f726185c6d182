import { randomBytes } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SandboxSchema, type Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { Db } from "../part.js";
import { StorageHealth } from "../store/storage-health.js";
import type { EnvironmentRef } from "./backend.js";
import type { ExecResult } from "./execution.js";

/** Where a sandbox's environment lives, to re-attach or reap it after a restart. */
export interface EnvironmentRecord {
  readonly ref: EnvironmentRef;
  readonly workspaceDir: string;
}

/** A keyed Execute call: its fingerprint, then its result once it ended. */
export interface ExecutionRecord {
  readonly name: string;
  readonly fingerprint: string;
  readonly result?: ExecResult;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const unjson = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

/**
 * Sandboxes on LevelDB, in sublevels of the `sandbox` sublevel: `sandboxes` (the Sandbox
 * message, protobuf binary), `environments` (container id / pid and workspace, JSON),
 * `executions` (keyed results, `<sandbox id>!<key>`, JSON) and `meta` (this server's
 * instance id). Writes are sync: a sandbox or result the server acknowledged survives a crash.
 */
export class SandboxStore {
  private readonly root;
  private readonly sandboxes;
  private readonly environments;
  private readonly executions;
  private readonly meta;
  readonly #health: StorageHealth;

  constructor(db: Db, health = new StorageHealth()) {
    this.#health = health;
    this.root = db.sublevel<string, Uint8Array>("sandbox", { valueEncoding: "view" });
    this.sandboxes = this.root.sublevel<string, Uint8Array>("sandboxes", { valueEncoding: "view" });
    this.environments = this.root.sublevel<string, Uint8Array>("environments", { valueEncoding: "view" });
    this.executions = this.root.sublevel<string, Uint8Array>("executions", { valueEncoding: "view" });
    this.meta = this.root.sublevel<string, Uint8Array>("meta", { valueEncoding: "view" });
  }

  /** This data directory's server instance id, created on first use; labels its containers. */
  async instanceId(): Promise<string> {
    const existing = await this.meta.get("instance");
    if (existing) return new TextDecoder().decode(existing);
    const id = `srv_${randomBytes(8).toString("hex")}`;
    await this.#health.write(() => this.root.batch().put("instance", new TextEncoder().encode(id), { sublevel: this.meta }).write({ sync: true }));
    return id;
  }

  async putSandbox(sandbox: Sandbox, env?: EnvironmentRecord): Promise<void> {
    const batch = this.root.batch();
    batch.put(sandbox.sandboxId, toBinary(SandboxSchema, sandbox), { sublevel: this.sandboxes });
    if (env) batch.put(sandbox.sandboxId, json(env), { sublevel: this.environments });
    await this.#health.write(() => batch.write({ sync: true }));
  }

  async deleteSandbox(sandboxId: string): Promise<void> {
    const batch = this.root.batch();
    batch.del(sandboxId, { sublevel: this.sandboxes });
    batch.del(sandboxId, { sublevel: this.environments });
    for await (const key of this.executions.keys({ gt: `${sandboxId}!`, lt: `${sandboxId}!\xff` })) batch.del(key, { sublevel: this.executions });
    await this.#health.write(() => batch.write({ sync: true }));
  }

  async *allSandboxes(): AsyncGenerator<{ sandbox: Sandbox; env: EnvironmentRecord | undefined }> {
    for await (const [id, value] of this.sandboxes.iterator()) {
      const env = await this.environments.get(id);
      yield { sandbox: fromBinary(SandboxSchema, value), env: env ? unjson<EnvironmentRecord>(env) : undefined };
    }
  }

  async getExecution(sandboxId: string, key: string): Promise<ExecutionRecord | undefined> {
    const v = await this.executions.get(`${sandboxId}!${key}`);
    return v ? unjson<ExecutionRecord>(v) : undefined;
  }

  async putExecution(sandboxId: string, key: string, record: ExecutionRecord): Promise<void> {
    await this.#health.write(() => this.root.batch().put(`${sandboxId}!${key}`, json(record), { sublevel: this.executions }).write({ sync: true }));
  }

  async *unfinishedExecutions(): AsyncGenerator<{ sandboxId: string; key: string; record: ExecutionRecord }> {
    for await (const [k, v] of this.executions.iterator()) {
      const record = unjson<ExecutionRecord>(v);
      if (record.result) continue;
      const bang = k.indexOf("!");
      yield { sandboxId: k.slice(0, bang), key: k.slice(bang + 1), record };
    }
  }
}
