import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { expect, it } from "vitest";
import { createOmaClient } from "../node.js";
import type { ServerProcess } from "./server-process.js";

/**
 * A client in another language, driven as a child process (clients/python/tests/e2e_driver.py,
 * clients/go/internal/e2edriver): it prints what it did as lines the tests below read.
 */
export interface LanguageDriver {
  readonly language: string;
  /** Bytes of padding per event that make the server find a paused watcher too slow. */
  readonly slowWatcherPaddingBytes: number;
  command(): { cmd: string; args: string[] };
}

/** Longest wait for a driver to finish once the test has done its part. */
const driverExitTimeoutMs = 45_000;

export function startDriver(driver: LanguageDriver, token: string, args: string[]) {
  const { cmd, args: base } = driver.command();
  const child = spawn(cmd, [...base, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, OMA_TOKEN: token } });
  const out: string[] = [];
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (l) => out.push(l));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    out,
    stderr: () => stderr,
    /** The exit code, or "timeout". */
    exit: () => Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), driverExitTimeoutMs))]),
  };
}

/**
 * The end-to-end promises every client keeps, against the reference server as a process
 * that the tests SIGKILL and restart: a lost acknowledgement is retried under one key and
 * stored once (SESS-3); a watch resumes after its last seq with no loss across a crash
 * (SESS-12) and after WATCHER_TOO_SLOW (SESS-13); an emit made while the server is down
 * lands once. Call inside a describe whose beforeAll starts the server.
 */
export function clientPromiseTests(driver: LanguageDriver, server: () => ServerProcess): void {
  const newSession = async (kind: string) => {
    const oma = createOmaClient({ baseUrl: server().url, token: server().token });
    const id = `xlang-${kind}-${driver.language}-${process.pid}-${Date.now()}`;
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    return { oma, id, addr: `127.0.0.1:${server().port}` };
  };

  it(`${driver.language}: a lost acknowledgement is stored once, and the watch resumes across SIGKILL (SESS-3, SESS-12)`, async () => {
    const { oma, id, addr } = await newSession("crash");
    for (let n = 1; n <= 3; n++) await oma.sessions.emit(id, { case: "custom", value: { type: `before-${n}` } });
    const d = startDriver(driver, server().token, ["--addr", addr, "--session", id, "--until", "7"]);
    try {
      await expect.poll(() => d.out.includes("event 4"), { timeout: 30_000 }).toBe(true);
      await server().kill();
      await server().restart();
      for (let n = 5; n <= 7; n++) await oma.sessions.emit(id, { case: "custom", value: { type: `after-${n}` } }, { maxAttempts: 20 });
      expect(await d.exit(), d.stderr()).toBe(0);
    } finally {
      d.child.kill("SIGKILL");
    }
    expect(d.out[0]).toBe("emitted 4 true 2");
    expect(d.out.slice(1)).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => `event ${s}`));
    expect(d.stderr()).toMatch(/# reconnect 1 after 4/);
    const log = await oma.sessions.getEvents({ sessionId: id });
    expect(log.events.filter((e) => e.payload.case === "custom" && e.payload.value.type === "driver-emit")).toHaveLength(1);
  });

  it(`${driver.language}: an emit started while the server is down lands exactly once when it is back`, async () => {
    const { oma, id, addr } = await newSession("down");
    await server().kill();
    const d = startDriver(driver, server().token, ["--addr", addr, "--session", id, "--emit-only", "while-down"]);
    try {
      await expect.poll(() => d.out.includes("emitting"), { timeout: 15_000 }).toBe(true);
      await server().restart();
      expect(await d.exit(), d.stderr()).toBe(0);
    } finally {
      d.child.kill("SIGKILL");
    }
    expect(d.out).toEqual(["emitting", "emitted 1"]);
    expect((await oma.sessions.getEvents({ sessionId: id })).events).toHaveLength(1);
  });

  it(`${driver.language}: a watcher that falls behind gets WATCHER_TOO_SLOW and resumes with every event once (SESS-13)`, async () => {
    const { oma, id, addr } = await newSession("slow");
    const lag = Number((await oma.serverInfo.getServerInfo({})).limits?.maxWatchLagEvents ?? 10_000);
    const total = lag + 600;
    await oma.sessions.emit(id, { case: "custom", value: { type: "first" } });
    const d = startDriver(driver, server().token, ["--addr", addr, "--session", id, "--until", String(total), "--watch-slow"]);
    try {
      await expect.poll(() => d.out.includes("event 1"), { timeout: 15_000 }).toBe(true);
      // The driver holds on to event 1 while the log grows past the lag bound; the padding
      // fills the flow-control windows and buffers between, so the server's queue for it
      // backs up (gRPC Python buffers more than gRPC Go, hence its larger padding).
      const padding = "x".repeat(driver.slowWatcherPaddingBytes);
      const pad = { case: "custom" as const, value: { type: "pad", data: { fields: { p: { kind: { case: "stringValue" as const, value: padding } } } } } };
      const batches: number[] = [];
      for (let next = 2; next <= total; next += 200) batches.push(Math.min(200, total - next + 1));
      // Four batches in flight: the order of the padding events does not matter.
      for (let i = 0; i < batches.length; i += 4) await Promise.all(batches.slice(i, i + 4).map((n) => oma.sessions.emitBatch(id, Array.from({ length: n }, () => pad))));
      d.child.stdin.end("go\n");
      expect(await d.exit(), d.stderr()).toBe(0);
    } finally {
      d.child.kill("SIGKILL");
    }
    expect(d.stderr()).toMatch(/# reconnect 1 after \d+ WATCHER_TOO_SLOW/);
    expect(d.out.length).toBe(total);
    expect(d.out.every((line, i) => line === `event ${i + 1}`)).toBe(true);
  });
}
