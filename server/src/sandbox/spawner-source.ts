/**
 * The spawner: a small Node process the server starts once (see spawner.ts) that starts
 * every sandbox's first process for it. A spawn forks the process that makes it and waits,
 * blocked, until the child has exec'd; from the server (hundreds of MB, its event loop
 * serving every session) that cost grows with its size and with the load of the machine,
 * from this process it is small and blocks nothing else.
 *
 * Protocol over the IPC channel (JSON): the server sends `{ kind: "spawn", id, command,
 * args, env, cwd, pipes, input? }`; the spawner answers `{ kind: "spawned", id, pid, fds }`
 * then one `{ kind: "fd", id, fd }` message per descriptor in `fds`, each carrying that
 * pipe's socket (Node passes it over the channel), or `{ kind: "error", id, message }`;
 * later `{ kind: "exit", id, code, signal }`. `{ kind: "run", id, command, args, timeoutMs }` runs
 * a command to its end and answers `{ kind: "ran", id, stdout, stderr, error? }` (utf-8; the
 * error names the command's exit or why it did not run). `{ kind: "kill", id, signal }` signals a child
 * the spawner has not yet reaped. `input` (base64) is written to the last pipe here and
 * ended; that pipe is not passed. When the server's channel closes or the server is no
 * longer its parent (it exited or was killed), the spawner SIGKILLs every child it started
 * and exits (the children of bwrap's --die-with-parent die with it too).
 *
 * A pipe's socket starts reading as soon as it exists; the spawner stops that in the same
 * tick, before any byte can arrive, so every byte the child writes reaches the server.
 */
export const SPAWNER_SOURCE = String.raw`
"use strict";
const { execFile, spawn } = require("node:child_process");
process.title = "oma-spawner";
const children = new Map();
const send = (m, handle) => { if (process.connected) process.send(m, handle); };
// Without its server, the spawner ends every child it started, then itself.
const quit = () => {
  for (const c of children.values()) c.kill("SIGKILL");
  process.exit(0);
};
process.on("disconnect", quit);
// Node does not always emit "disconnect": a server killed while this process passed it a
// child's pipes (each waits for the server's acknowledgement) left this process, and the
// sandboxes it started, running for good. So it also watches its parent.
const server = process.ppid;
setInterval(() => { if (process.ppid !== server) quit(); }, 500);
process.on("message", (m) => {
  if (m.kind === "kill") {
    const c = children.get(m.id);
    if (c && c.exitCode === null && c.signalCode === null) c.kill(m.signal);
    return;
  }
  if (m.kind === "run") {
    execFile(m.command, m.args, { timeout: m.timeoutMs, env: m.env }, (err, stdout, stderr) =>
      send({ kind: "ran", id: m.id, stdout: String(stdout), stderr: String(stderr), ...(err ? { error: err.message } : {}) }));
    return;
  }
  if (m.kind !== "spawn") return;
  let child;
  try {
    child = spawn(m.command, m.args, { env: m.env, cwd: m.cwd, stdio: Array.from({ length: m.pipes }, () => "pipe") });
  } catch (err) {
    send({ kind: "error", id: m.id, message: err.message });
    return;
  }
  if (child.pid === undefined) {
    child.once("error", (err) => send({ kind: "error", id: m.id, message: err.message }));
    return;
  }
  const passed = m.input === undefined ? m.pipes : m.pipes - 1;
  for (let fd = 1; fd < passed; fd++) {
    const handle = child.stdio[fd]._handle;
    if (!handle || typeof handle.readStop !== "function") throw new Error("the spawner cannot pause a child's pipe on this Node version");
    handle.readStop();
  }
  if (m.input !== undefined) {
    const input = child.stdio[m.pipes - 1];
    input.on("error", () => undefined);
    input.end(Buffer.from(m.input, "base64"));
  }
  children.set(m.id, child);
  child.on("error", () => undefined);
  child.once("exit", (code, signal) => {
    children.delete(m.id);
    send({ kind: "exit", id: m.id, code, signal });
  });
  send({ kind: "spawned", id: m.id, pid: child.pid, fds: passed });
  for (let fd = 0; fd < passed; fd++) send({ kind: "fd", id: m.id, fd }, child.stdio[fd]);
});
`;
