import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { byStep, startScriptedModel, type ScriptedModel } from "@oma/conformance/scripted-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN } from "../harness/testing/brain-fixture.js";
import { backendsUnderTest } from "../sandbox/sandbox-test-support.js";
import { tempDir } from "../testing/temp-dir.js";

// `oma serve --workers N` starts brain worker processes (and restarts them); `oma run`
// drives a session from the command line. Both as real processes of the compiled CLI.
const all = backendsUnderTest();
const backend = all.find((b) => b.name === "bubblewrap" && b.available) ?? all.find((b) => b.name === "process" && b.available);
if (!backend) console.warn("!!! SKIPPED oma serve/run tests because neither bubblewrap nor the process backend can run here");

let model: ScriptedModel;
let server: ChildProcess;
let url = "";
let dir: Awaited<ReturnType<typeof tempDir>>;
const keyEnv = () => ({ ...process.env, ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: model.url, OMA_LOG_LEVEL: "warn" });

beforeAll(async () => {
  if (!backend) return;
  model = await startScriptedModel({
    script: byStep([
      { content: [{ type: "text", text: "Counting the files." }, { type: "tool_use", name: "bash", input: { command: "printf 'a\\nb\\nc\\nd\\ne\\nf\\n'" } }] },
      { content: [{ type: "text", text: "There are six lines." }] },
    ]),
  });
  dir = await tempDir("oma-serve-");
  server = spawn(process.execPath, [CLI_MAIN, "serve", "--port", "0", "--data-dir", dir.path, "--workers", "1", "--sandbox-backend", backend.name], {
    stdio: ["ignore", "pipe", "ignore"],
    env: keyEnv(),
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start")), 30_000);
    createInterface({ input: server.stdout! }).on("line", (line) => {
      if (line.startsWith("OMA_LISTENING ")) {
        clearTimeout(timer);
        resolve(line.slice("OMA_LISTENING ".length).trim());
      }
    });
  });
});
afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  await model?.close();
  await dir?.remove();
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!backend)("oma serve --workers and oma run", () => {
  it("oma run prints the agent's text and its folded tool calls until the session is idle", async () => {
    const res = await runCli(["run", "how many lines?", "--server", url, "--data-dir", dir.path, "--backend", backend!.name], keyEnv());
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/session ses_/);
    expect(res.stdout).toContain("Counting the files.");
    expect(res.stdout).toContain("bash");
    expect(res.stdout).toContain("a\n");
    expect(res.stdout).toContain("2 more lines");
    expect(res.stdout).not.toContain("e\n");
    expect(res.stdout).toContain("There are six lines.");
  });

  it("oma run --context compact gives the agent that strategy: its brain offers session_history; a bad bound is the server's INVALID_FIELD", async () => {
    const before = model.requests.length;
    const res = await runCli(["run", "how many lines?", "--server", url, "--data-dir", dir.path, "--backend", backend!.name, "--context", "compact", "--max-input-tokens", "100000"], keyEnv());
    expect(res.code).toBe(0);
    const tools = model.requests.slice(before).map((r) => (r.body.tools ?? []).map((t) => t["name"]));
    expect(tools[0]).toContain("session_history");
    const bad = await runCli(["run", "hi", "--server", url, "--data-dir", dir.path, "--context", "compact", "--max-input-tokens", "10"], keyEnv());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("agent.context.max_input_tokens");
    const unknown = await runCli(["run", "hi", "--server", url, "--context", "forget"], keyEnv());
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("none, clear, compact");
  });

  it("a local worker that dies is restarted and the next run is served", async () => {
    const pids = execFileSync("pgrep", ["-P", String(server.pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    for (const pid of pids) process.kill(Number(pid), "SIGKILL");
    const res = await runCli(["run", "again", "--server", url, "--data-dir", dir.path, "--backend", backend!.name], keyEnv());
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("There are six lines.");
    const after = execFileSync("pgrep", ["-P", String(server.pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    expect(after.some((p) => !pids.includes(p))).toBe(true);
  });

  it("oma run needs no model key itself; against a server without brains it says so and how to fix it, and never draws a spinner into a pipe", async () => {
    const env = { ...process.env };
    delete env["ANTHROPIC_API_KEY"];
    delete env["ANTHROPIC_AUTH_TOKEN"];
    const lonely = await tempDir("oma-no-brain-");
    const bare = spawn(process.execPath, [CLI_MAIN, "serve", "--port", "0", "--data-dir", lonely.path, "--workers", "0", "--sandbox-backend", backend!.name], { stdio: ["ignore", "pipe", "ignore"], env });
    try {
      const bareUrl = await new Promise<string>((resolve, reject) => {
        createInterface({ input: bare.stdout! }).on("line", (line) => line.startsWith("OMA_LISTENING ") && resolve(line.slice(14).trim()));
        bare.once("exit", () => reject(new Error("server exited")));
      });
      const res = await runCli(["run", "hi", "--server", bareUrl, "--data-dir", lonely.path, "--wait-for-brain", "1"], env);
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/no brain worker took session ses_\S+ within 1 s/);
      expect(res.stderr).toContain("oma worker --server");
      expect(res.stderr).toContain("ANTHROPIC_API_KEY");
      expect(res.stderr).not.toContain("working");
    } finally {
      bare.kill("SIGKILL");
      await lonely.remove();
    }
    const served = await runCli(["run", "how many lines?", "--server", url, "--data-dir", dir.path, "--backend", backend!.name], env);
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout).toContain("There are six lines.");
    expect(served.stderr).not.toMatch(/working|[⠋⠙⠹⠸]/);
    const worker = await runCli(["worker", "--server", url], env);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain("ANTHROPIC_API_KEY is not set");
  });
});
