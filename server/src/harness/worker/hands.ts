import type { Client } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { ToolUse } from "@oma/client/gen/oma/v1/event_pb.js";
import type { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import type { SandboxResources } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { Logger } from "../../logger.js";
import { InterruptedError } from "./brain-errors.js";
import type { SessionWriter } from "./session-writer.js";
import { retryTransient } from "./transient-retry.js";

/** A tool call's outcome as the brain records it in a tool_result. */
export interface ToolOutcome {
  readonly output: string;
  readonly isError: boolean;
  readonly truncated: boolean;
  readonly replayed: boolean;
  readonly sandboxId: string;
  /** As Execute reported them; unset when no sandbox ran the call. */
  readonly exitCode?: number;
  readonly durationMs?: number;
}

const LOST_REASONS = new Set(["SANDBOX_LOST", "SANDBOX_NOT_FOUND"]);
/** The model made a bad call: it sees the error and can correct itself. */
const CALL_REASONS = new Set(["TOOL_NOT_FOUND", "INVALID_TOOL_INPUT", "IDEMPOTENCY_KEY_REUSED"]);

/**
 * The session's hands: the sandbox recorded in the log, provisioned lazily by the first
 * tool call that needs one (HARN-8), every call keyed by its tool_use id (HARN-7). A lost
 * sandbox becomes an error result; the next call provisions a fresh one that records
 * which one it replaces.
 */
export class Hands {
  readonly #client: Client<typeof SandboxService>;
  readonly #writer: SessionWriter;
  readonly #resources: SandboxResources | undefined;
  readonly #harnessId: string;
  readonly #log: Logger;
  #sandboxId: string | undefined;
  #lostId = "";

  constructor(deps: {
    client: Client<typeof SandboxService>;
    writer: SessionWriter;
    resources: SandboxResources | undefined;
    harnessId: string;
    sandboxId: string | undefined;
    logger: Logger;
  }) {
    this.#client = deps.client;
    this.#writer = deps.writer;
    this.#resources = deps.resources;
    this.#harnessId = deps.harnessId;
    this.#sandboxId = deps.sandboxId;
    this.#log = deps.logger;
  }

  get sandboxId(): string | undefined {
    return this.#sandboxId;
  }

  /** The session's sandbox, provisioned (and recorded) if there is none. */
  async ensure(): Promise<string> {
    if (this.#sandboxId) return this.#sandboxId;
    const res = await this.#client.provision({ resources: this.#resources, sessionId: this.#writer.sessionId, labels: {} });
    const sandbox = res.sandbox!;
    await this.#writer.emit(
      [{ case: "sandboxProvisioned", value: { sandboxId: sandbox.sandboxId, backend: sandbox.backend, replacesSandboxId: this.#lostId } }],
      `${this.#harnessId}:sandbox:${sandbox.sandboxId}`,
    );
    this.#log.info({ sandboxId: sandbox.sandboxId, backend: sandbox.backend, replaces: this.#lostId || undefined }, "provisioned sandbox");
    this.#sandboxId = sandbox.sandboxId;
    return sandbox.sandboxId;
  }

  async execute(toolUse: ToolUse, signal: AbortSignal): Promise<ToolOutcome> {
    let sandboxId: string;
    try {
      sandboxId = await this.ensure();
    } catch (err) {
      // A recipe the sandbox service refuses (unknown backend, bad resources, no capacity)
      // is told to the model as this call's error; a transport fault is not (it is retried
      // or ends the brain).
      const reason = reasonOf(err);
      if (!reason || reason === "LEASE_LOST" || reason === "INTERNAL") throw err;
      return { output: `No sandbox could be provisioned (${reason}): ${(err as Error).message}`, isError: true, truncated: false, replayed: false, sandboxId: "" };
    }
    try {
      // Keyed by the tool_use id, a repeat after a broken connection attaches to the same run (SBX-8).
      const res = await retryTransient(
        () => this.#client.execute({ sandboxId, name: toolUse.name, input: toolUse.input ?? {}, idempotencyKey: toolUse.toolUseId }, { signal }),
        signal,
      );
      return { output: res.output, isError: res.isError, truncated: res.truncated, replayed: res.replayed, sandboxId, exitCode: res.exitCode, ...(res.duration ? { durationMs: durationMs(res.duration) } : {}) };
    } catch (err) {
      if (signal.aborted) throw new InterruptedError("tool call interrupted", { cause: err });
      const reason = reasonOf(err);
      if (LOST_REASONS.has(reason)) {
        this.#log.warn({ sandboxId, reason }, "sandbox lost; the next tool call provisions a fresh one");
        this.#lostId = sandboxId;
        this.#sandboxId = undefined;
        return {
          output: `The sandbox ${sandboxId} was lost (${reason}) and this call did not complete. A fresh sandbox will run the next tool call; files in the old one are gone.`,
          isError: true,
          truncated: false,
          replayed: false,
          sandboxId,
        };
      }
      if (CALL_REASONS.has(reason)) {
        return { output: `Tool call rejected (${reason}): ${(err as Error).message}`, isError: true, truncated: false, replayed: false, sandboxId };
      }
      throw err;
    }
  }
}
