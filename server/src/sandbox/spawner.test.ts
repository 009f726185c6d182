import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { isAlive, parentPid, waitGone } from "../testing/process-tree.js";
import { runCommand, spawnChild, type SpawnedChild } from "./spawner.js";
import { SPAWNER_SOURCE } from "./spawner-source.js";

const text = async (stream: Readable): Promise<string> => {
  let s = "";
  for await (const chunk of stream) s += String(chunk);
  return s;
};
const exitOf = (child: SpawnedChild) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve([child.exitCode, child.signalCode]) : once(child, "exit");

describe("the spawner", () => {
  it("starts a child outside this process, with its pipes passed here: every byte, the first ones included, both ways", async () => {
    const child = await spawnChild("/bin/sh", ["-c", "printf early >&3; printf err >&2; printf 'out:'; cat; exec 3>&-"], { env: { PATH: "/usr/bin:/bin" }, cwd: "/", pipes: 4 });
    expect(parentPid(child.pid)).not.toBe(process.pid);
    expect(parentPid(parentPid(child.pid)!)).toBe(process.pid);
    const [info, out, err] = [text(child.stdio[3]!), text(child.stdout), text(child.stderr)];
    child.stdin.end("from the server");
    expect(await info).toBe("early");
    expect(await out).toBe("out:from the server");
    expect(await err).toBe("err");
    expect(await exitOf(child)).toEqual([0, null]);
  });

  it("writes the input to the last pipe and ends it; that pipe is not passed", async () => {
    const child = await spawnChild("/bin/sh", ["-c", "cat <&4; exit 7"], { env: {}, cwd: "/", pipes: 5, input: Buffer.from("filter bytes") });
    expect(child.stdio).toHaveLength(4);
    child.stdin.end();
    expect(await text(child.stdout)).toBe("filter bytes");
    expect(await exitOf(child)).toEqual([7, null]);
  });

  it("signals a child it has not reaped; a command that does not exist is an error naming it", async () => {
    const child = await spawnChild("/bin/sleep", ["30"], { env: {}, cwd: "/", pipes: 3 });
    child.kill("SIGKILL");
    expect(await exitOf(child)).toEqual([null, "SIGKILL"]);
    await expect(spawnChild("/nonexistent/runner", [], { env: {}, cwd: "/", pipes: 3 })).rejects.toThrow(/\/nonexistent\/runner ENOENT/);
  });

  it("runs a command to its end: its output, or an error carrying its stderr", async () => {
    expect(await runCommand("/bin/sh", ["-c", "echo made; echo note >&2"], 10_000)).toEqual({ stdout: "made\n", stderr: "note\n" });
    await expect(runCommand("/bin/sh", ["-c", "echo no room >&2; exit 3"], 10_000)).rejects.toMatchObject({ stderr: "no room\n" });
  });

  it("when the server is killed while the spawner passes it a child's pipes, the spawner exits and its child ends", async () => {
    // A stand-in server: starts the spawner as the server does, asks it for a child, and
    // SIGKILLs itself as the answer comes, while the pipes are still on their way.
    const server = `
      const { spawn } = require("node:child_process");
      const spawner = spawn(process.execPath, ["-e", process.env.SPAWNER], { stdio: ["ignore", "ignore", "inherit", "ipc"], env: {} });
      spawner.on("message", (m) => {
        if (m.kind !== "spawned") return;
        console.log(JSON.stringify({ spawner: spawner.pid, child: m.pid }));
        process.kill(process.pid, "SIGKILL");
      });
      spawner.send({ kind: "spawn", id: 1, command: "/bin/sleep", args: ["30"], env: {}, cwd: "/", pipes: 3 });`;
    const standIn = spawn(process.execPath, ["-e", server], { env: { SPAWNER: SPAWNER_SOURCE }, stdio: ["ignore", "pipe", "inherit"] });
    const { spawner, child } = JSON.parse(await text(standIn.stdout)) as { spawner: number; child: number };
    await waitGone([spawner, child], 10_000);
  });

  it("when the spawner dies, its children end and are reported exited; the next spawn starts another spawner", async () => {
    const child = await spawnChild("/bin/sleep", ["30"], { env: {}, cwd: "/", pipes: 3 });
    const spawnerPid = parentPid(child.pid)!;
    process.kill(spawnerPid, "SIGKILL");
    expect(await exitOf(child)).toEqual([null, "SIGKILL"]);
    await waitGone([child.pid, spawnerPid], 10_000);
    const next = await spawnChild("/bin/true", [], { env: {}, cwd: "/", pipes: 3 });
    expect(parentPid(next.pid) ?? 0).not.toBe(spawnerPid);
    expect(await exitOf(next)).toEqual([0, null]);
    expect(isAlive(spawnerPid)).toBe(false);
  });
});
