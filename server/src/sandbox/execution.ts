import type { StreamId } from "./runner-connection.js";

/** A tool call's outcome in domain terms (ExecuteResponse without `replayed`). */
export interface ExecResult {
  readonly output: string;
  readonly isError: boolean;
  readonly exitCode: number;
  readonly truncated: boolean;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

export interface OutputPiece {
  readonly stream: StreamId;
  readonly data: Uint8Array;
  /** Offset of data[0] in the execution's combined output. */
  readonly offset: number;
}

export type ExecutionEvent = { readonly chunk: OutputPiece } | { readonly result: ExecResult };

/**
 * One running or finished tool call: its output as produced (at most the output cap, so
 * the buffer is bounded) and its result. Any number of followers can read it from any
 * offset, which is what lets ExecuteStream resume after a disconnect.
 */
export class Execution {
  private readonly pieces: OutputPiece[] = [];
  private size = 0;
  private outcome: { result: ExecResult } | { error: unknown } | undefined;
  private wake: Array<() => void> = [];
  /** When the call ended (ms since epoch); undefined while it runs. */
  endTime: number | undefined;
  readonly done: Promise<ExecResult>;
  private settle!: { resolve(r: ExecResult): void; reject(e: unknown): void };

  constructor(
    readonly name: string,
    readonly fingerprint: string,
  ) {
    this.done = new Promise<ExecResult>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
  }

  get outputBytes(): number {
    return this.size;
  }

  /** The output so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.pieces.map((p) => p.data));
  }

  append(stream: StreamId, data: Uint8Array): void {
    if (data.length === 0) return;
    this.pieces.push({ stream, data, offset: this.size });
    this.size += data.length;
    this.notify();
  }

  finish(result: ExecResult): void {
    if (this.outcome) return;
    this.outcome = { result };
    this.endTime = Date.now();
    this.settle.resolve(result);
    this.notify();
  }

  fail(error: unknown): void {
    if (this.outcome) return;
    this.outcome = { error };
    this.endTime = Date.now();
    this.settle.reject(error);
    this.notify();
  }

  /** Every chunk from `fromOffset` on, live, then the result; throws what the call threw. */
  async *follow(fromOffset: number): AsyncGenerator<ExecutionEvent> {
    let offset = fromOffset;
    for (;;) {
      for (const p of this.pieces) {
        const end = p.offset + p.data.length;
        if (end <= offset) continue;
        const skip = Math.max(0, offset - p.offset);
        yield { chunk: { stream: p.stream, data: p.data.subarray(skip), offset: p.offset + skip } };
        offset = end;
      }
      if (this.outcome && offset >= this.size) {
        if ("error" in this.outcome) throw this.outcome.error;
        yield { result: this.outcome.result };
        return;
      }
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }
}
