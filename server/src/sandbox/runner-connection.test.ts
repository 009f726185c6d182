import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { isOmaError } from "../errors/oma-error.js";
import { RunnerConnection } from "./runner-connection.js";

describe("RunnerConnection", () => {
  it("routes chunks and the exit to the call that asked, across split lines", async () => {
    const toRunner = new PassThrough();
    const fromRunner = new PassThrough();
    const conn = new RunnerConnection("sbx_test", toRunner, fromRunner);
    const chunks: string[] = [];
    const { id, done } = conn.runCommand("echo hi", 1000, 100, (_s, d) => chunks.push(Buffer.from(d).toString()));
    await new Promise((r) => setImmediate(r));
    const request = JSON.parse(String(toRunner.read())) as { op: string; id: string; cmd: string };
    expect(request).toMatchObject({ op: "exec", id, cmd: "echo hi" });
    fromRunner.write(`{"id":"${id}","s":1,"d":"${Buffer.from("hi\n").toString("base64")}"}\n{"id":"${id}","ex`);
    fromRunner.write(`it":0,"timed_out":false,"total":3}\n`);
    expect(await done).toEqual({ exitCode: 0, timedOut: false, totalBytes: 3 });
    expect(chunks).toEqual(["hi\n"]);
  });

  it("holds requests until the sandbox's limits are applied; if they cannot be, nothing is sent and calls are SANDBOX_LOST", async () => {
    const toRunner = new PassThrough();
    const conn = new RunnerConnection("sbx_test", toRunner, new PassThrough());
    let apply!: () => void;
    conn.holdRequestsUntil(new Promise<void>((r) => (apply = r)), "limits");
    void conn.ping();
    await new Promise((r) => setImmediate(r));
    expect(toRunner.read()).toBeNull();
    apply();
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(String(toRunner.read()))).toMatchObject({ op: "ping" });

    const blocked = new PassThrough();
    const failing = new RunnerConnection("sbx_test", blocked, new PassThrough());
    failing.holdRequestsUntil(Promise.reject(new Error("no cgroup")), "limits");
    const reason = await failing.runFileTool("list_files", {}, 100).then(() => "resolved", (e: unknown) => (isOmaError(e) ? e.reason : String(e)));
    expect(reason).toBe("SANDBOX_LOST");
    expect(blocked.read()).toBeNull();
  });

  it("fails pending and later calls with SANDBOX_LOST when the runner's output ends", async () => {
    const fromRunner = new PassThrough();
    const conn = new RunnerConnection("sbx_test", new PassThrough(), fromRunner);
    const pending = conn.runFileTool("read_file", { path: "a" }, 100);
    fromRunner.end();
    const reasonOf = (p: Promise<unknown>) => p.then(() => "resolved", (e: unknown) => (isOmaError(e) ? e.reason : String(e)));
    expect(await reasonOf(pending)).toBe("SANDBOX_LOST");
    expect(await reasonOf(conn.ping())).toBe("SANDBOX_LOST");
    expect(conn.closed).toBe(true);
  });

  it("drops malformed lines from the sandbox (a forged null, wrong types) and still serves the real reply", async () => {
    const toRunner = new PassThrough();
    const fromRunner = new PassThrough();
    const conn = new RunnerConnection("sbx_test", toRunner, fromRunner);
    const pending = conn.runFileTool("read_file", { path: "a" }, 100);
    await new Promise((r) => setImmediate(r));
    const id = (JSON.parse(String(toRunner.read())) as { id: string }).id;
    fromRunner.write(["null", "[1]", "42", JSON.stringify({ id, s: 1, d: 7 }), JSON.stringify({ id, exit: 1e30 }), JSON.stringify({ id: 5, out: "x" }), JSON.stringify({ id, out: "real", err: false, total: 4 })].join("\n") + "\n");
    expect(await pending).toEqual({ output: "real", isError: false, totalBytes: 4 });
    expect(conn.closed).toBe(false);
  });
});
