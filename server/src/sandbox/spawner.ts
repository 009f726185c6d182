import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { SPAWNER_SOURCE } from "./spawner-source.js";

/** A process started through the spawner: its pid, the pipes passed to this process, its end. Emits `exit` (code, signal) once. */
export interface SpawnedChild extends EventEmitter {
  readonly pid: number;
  /** fd i of the child as a pipe; the input pipe (when given) is not here. */
  readonly stdio: readonly Socket[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** How many descriptors (from 0) are pipes; at least 3. */
  readonly pipes: number;
  /** Written to the last pipe, then EOF (that pipe is not passed back). */
  readonly input?: Buffer;
}

/** What a command run to its end wrote. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

type SpawnerMessage =
  | { kind: "spawned"; id: number; pid: number; fds: number }
  | { kind: "fd"; id: number; fd: number }
  | { kind: "error"; id: number; message: string }
  | { kind: "ran"; id: number; stdout: string; stderr: string; error?: string }
  | { kind: "exit"; id: number; code: number | null; signal: NodeJS.Signals | null };

class RemoteChild extends EventEmitter implements SpawnedChild {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  constructor(
    readonly pid: number,
    readonly stdio: Socket[],
    private readonly signal: (signal: NodeJS.Signals) => void,
  ) {
    super();
  }
  get stdin(): Writable {
    return this.stdio[0]!;
  }
  get stdout(): Readable {
    return this.stdio[1]!;
  }
  get stderr(): Readable {
    return this.stdio[2]!;
  }
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.exitCode === null && this.signalCode === null) this.signal(signal);
  }
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit("exit", code, signal);
  }
}

interface Starting {
  readonly resolve: (child: RemoteChild | RunResult) => void;
  readonly reject: (err: Error) => void;
  pid?: number;
  fds?: number;
  readonly sockets: Socket[];
}

/**
 * The server's side of the spawner process (spawner-source.ts): started on the first spawn,
 * started again on the next one if it died. While it runs, its children and their pipes
 * belong to this process exactly as if it had spawned them itself.
 */
class Spawner {
  private readonly process: ChildProcess;
  private readonly starting = new Map<number, Starting>();
  private readonly live = new Map<number, RemoteChild>();
  private nextId = 1;
  readonly gone: Promise<void>;

  constructor() {
    this.process = spawn(process.execPath, ["-e", SPAWNER_SOURCE], { stdio: ["ignore", "ignore", "inherit", "ipc"], env: {} });
    this.process.unref();
    this.process.channel?.unref();
    this.process.on("message", (m: SpawnerMessage, handle?: Socket) => this.onMessage(m, handle));
    this.gone = new Promise((resolve) => {
      this.process.once("exit", () => {
        this.died();
        resolve();
      });
      this.process.once("error", () => undefined);
    });
  }

  get connected(): boolean {
    return this.process.connected;
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions): Promise<SpawnedChild> {
    return this.request({ kind: "spawn", command, args, env: options.env, cwd: options.cwd, pipes: options.pipes, input: options.input?.toString("base64") }) as Promise<SpawnedChild>;
  }

  run(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
    return this.request({ kind: "run", command, args, timeoutMs, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } }) as Promise<RunResult>;
  }

  private request(message: Record<string, unknown>): Promise<RemoteChild | RunResult> {
    const id = this.nextId++;
    if (this.starting.size === 0) this.process.channel?.ref();
    return new Promise((resolve, reject) => {
      this.starting.set(id, { resolve, reject, sockets: [] });
      this.process.send({ ...message, id });
    });
  }

  private onMessage(m: SpawnerMessage, handle?: Socket): void {
    if (m.kind === "exit") {
      this.live.get(m.id)?.exited(m.code, m.signal);
      this.live.delete(m.id);
      return;
    }
    const start = this.starting.get(m.id);
    if (!start) return;
    if (m.kind === "error") {
      this.settle(m.id);
      start.reject(new Error(m.message));
    } else if (m.kind === "ran") {
      this.settle(m.id);
      if (m.error === undefined) start.resolve({ stdout: m.stdout, stderr: m.stderr });
      else start.reject(Object.assign(new Error(m.error), { stdout: m.stdout, stderr: m.stderr }));
    } else if (m.kind === "spawned") {
      start.pid = m.pid;
      start.fds = m.fds;
    } else if (handle) {
      start.sockets[m.fd] = handle;
      if (start.pid !== undefined && start.sockets.filter(Boolean).length === start.fds) {
        this.settle(m.id);
        const child = new RemoteChild(start.pid, start.sockets, (signal) => this.process.connected && this.process.send({ kind: "kill", id: m.id, signal }));
        this.live.set(m.id, child);
        start.resolve(child);
      }
    }
  }

  private settle(id: number): void {
    this.starting.delete(id);
    if (this.starting.size === 0) this.process.channel?.unref();
  }

  /** The spawner is gone: what was starting failed; what it started is ended (bwrap's die with it anyway) and reported exited. */
  private died(): void {
    if (spawner === this) spawner = undefined;
    for (const start of this.starting.values()) start.reject(new Error("the process spawner exited"));
    this.starting.clear();
    for (const child of this.live.values()) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      child.exited(null, "SIGKILL");
    }
    this.live.clear();
  }
}

let spawner: Spawner | undefined;

/**
 * Starts `command` through the spawner process, so the fork and exec never block this
 * process's event loop; resolves once it runs, with its pipes.
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions): Promise<SpawnedChild> {
  if (!spawner?.connected) spawner = new Spawner();
  return spawner.spawn(command, args, options);
}

/**
 * Runs a short command (mkfs, mount, umount) to its end through the spawner, off this event
 * loop; rejects, with `stderr` on the error, when it fails or outlives `timeoutMs`.
 */
export function runCommand(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  if (!spawner?.connected) spawner = new Spawner();
  return spawner.run(command, args, timeoutMs);
}
