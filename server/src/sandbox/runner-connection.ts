import type { Readable, Writable } from "node:stream";
import { OmaError } from "../errors/oma-error.js";

/** Where a piece of output came from (1 stdout, 2 stderr, as in OutputStream). */
export type StreamId = 1 | 2;

export interface CommandOutcome {
  /** Exit code; -1 when killed. */
  readonly exitCode: number;
  readonly timedOut: boolean;
  /** Bytes the command produced, including those past the cap that were not sent. */
  readonly totalBytes: number;
}

export interface FileToolOutcome {
  readonly output: string;
  readonly isError: boolean;
  readonly totalBytes: number;
}

/**
 * Longest line the runner may send. Its largest message is a file tool's output (at most
 * the output cap, JSON-escaped); anything longer is not from the runner, and buffering it
 * would let sandboxed code grow the server's memory.
 */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

interface Pending {
  onChunk?: (stream: StreamId, data: Uint8Array) => void;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface RunnerMessage {
  ready?: boolean;
  id?: string;
  s?: StreamId;
  d?: string;
  exit?: number;
  timed_out?: boolean;
  total?: number;
  out?: string;
  err?: boolean;
  pong?: boolean;
}

/**
 * The server's end of the JSON-lines conversation with a sandbox's tool runner
 * (tool-runner-source.ts), over whatever carries its stdin/stdout: a child's pipes or a
 * docker attach stream. When the carrier ends, every pending call fails with SANDBOX_LOST.
 */
export class RunnerConnection {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private buffer = "";
  private closedReason: string | undefined;
  private readonly lostListeners: Array<(reason: string) => void> = [];
  private readyWaiter: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Requests wait for this before they are written (see holdRequestsUntil). */
  private gate: Promise<void> = Promise.resolve();
  readonly ready: Promise<void>;

  constructor(
    private readonly sandboxId: string,
    private readonly input: Writable,
    output: Readable,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.readyWaiter = { resolve, reject }));
    this.ready.catch(() => undefined);
    output.setEncoding("utf8");
    output.on("data", (text: string) => this.onData(text));
    output.on("end", () => this.close("the sandbox's tool runner ended"));
    output.on("close", () => this.close("the sandbox's tool runner ended"));
    output.on("error", (err) => this.close(`the connection to the sandbox failed: ${err.message}`));
    input.on("error", (err) => this.close(`the connection to the sandbox failed: ${err.message}`));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Holds every request until `condition` settles: the runner may be up before its limits
   * are in place, and nothing may run in it until they are. If the condition fails the
   * connection closes (SANDBOX_LOST) and nothing ever runs.
   */
  holdRequestsUntil(condition: Promise<void>, failure: string): void {
    this.gate = condition.catch((err: unknown) => {
      this.close(`${failure}: ${(err as Error).message}`);
      throw err;
    });
    this.gate.catch(() => undefined);
  }

  /** Called once when the runner goes away for good. */
  onLost(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.lostListeners.push(listener);
  }

  /** Runs `bash -c cmd` in the sandbox; chunks arrive through onChunk as produced. */
  runCommand(cmd: string, timeoutMs: number, maxBytes: number, onChunk: (stream: StreamId, data: Uint8Array) => void): { id: string; done: Promise<CommandOutcome> } {
    const id = this.newId();
    const done = this.call<CommandOutcome>(id, { op: "exec", id, cmd, timeout_ms: timeoutMs, max_bytes: maxBytes }, onChunk);
    return { id, done };
  }

  /** Kills a running command's whole process group. */
  kill(id: string, timedOut: boolean): void {
    this.write({ op: "kill", id, timed_out: timedOut });
  }

  runFileTool(name: string, input: unknown, maxBytes: number): Promise<FileToolOutcome> {
    const id = this.newId();
    return this.call<FileToolOutcome>(id, { op: "tool", id, name, input, max_bytes: maxBytes });
  }

  ping(): Promise<unknown> {
    const id = this.newId();
    return this.call(id, { op: "ping", id });
  }

  /** Fails every pending call and stops listening. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.readyWaiter?.reject(new OmaError("SANDBOX_LOST", reason, { sandbox_id: this.sandboxId }));
    for (const p of this.pending.values()) p.reject(new OmaError("SANDBOX_LOST", reason, { sandbox_id: this.sandboxId }));
    this.pending.clear();
    for (const l of this.lostListeners.splice(0)) l(reason);
  }

  private newId(): string {
    return `r${this.nextId++}`;
  }

  private call<T>(id: string, request: object, onChunk?: Pending["onChunk"]): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new OmaError("SANDBOX_LOST", this.closedReason, { sandbox_id: this.sandboxId }));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { onChunk, resolve: resolve as (v: unknown) => void, reject });
      this.write(request);
    });
  }

  private write(request: object): void {
    const line = `${JSON.stringify(request)}\n`;
    void this.gate.then(
      () => {
        if (this.closedReason === undefined) this.input.write(line);
      },
      () => undefined,
    );
  }

  private onData(text: string): void {
    this.buffer += text;
    if (this.buffer.length > MAX_LINE_CHARS && this.buffer.indexOf("\n") < 0) {
      this.close("the sandbox's tool runner sent a message above the protocol's size bound");
      this.buffer = "";
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() === "") continue;
      let msg: RunnerMessage;
      try {
        msg = JSON.parse(line) as RunnerMessage;
      } catch {
        continue; // Not ours (e.g. a line an image's entrypoint printed); the protocol lines are JSON.
      }
      // Whatever arrives is the sandbox's: a malformed message is dropped, never thrown.
      if (wellFormed(msg)) this.dispatch(msg);
    }
  }

  private dispatch(msg: RunnerMessage): void {
    if (msg.ready) {
      this.readyWaiter?.resolve();
      return;
    }
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p || msg.id === undefined) return; // e.g. a command started before a server restart
    if (msg.d !== undefined && msg.s !== undefined) {
      p.onChunk?.(msg.s, Buffer.from(msg.d, "base64"));
    } else if (msg.exit !== undefined) {
      this.pending.delete(msg.id);
      p.resolve({ exitCode: msg.exit, timedOut: msg.timed_out === true, totalBytes: msg.total ?? 0 } satisfies CommandOutcome);
    } else if (msg.out !== undefined) {
      this.pending.delete(msg.id);
      p.resolve({ output: msg.out, isError: msg.err === true, totalBytes: msg.total ?? 0 } satisfies FileToolOutcome);
    } else if (msg.pong) {
      this.pending.delete(msg.id);
      p.resolve(true);
    }
  }
}

/** The shapes the runner sends (see tool-runner-source.ts); anything else is ignored. */
function wellFormed(m: unknown): m is RunnerMessage {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return false;
  const r = m as Record<string, unknown>;
  const optional = (k: string, type: string) => r[k] === undefined || typeof r[k] === type;
  if (!optional("id", "string") || !optional("d", "string") || !optional("out", "string") || !optional("total", "number")) return false;
  if (r["s"] !== undefined && r["s"] !== 1 && r["s"] !== 2) return false;
  return r["exit"] === undefined || (Number.isInteger(r["exit"]) && Math.abs(r["exit"] as number) < 2 ** 31);
}
