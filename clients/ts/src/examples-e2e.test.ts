import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOmaClient } from "./node.js";
import { haveServerBuild, repoRoot, startServerProcess, type ServerProcess } from "./testing/server-process.js";

// Each language's run-session example against the reference server as a process, with its
// brain workers calling the scripted model (a local Messages API server from conformance/,
// the only stand-in): create a session, send a message, wake, print events until idle.
// The script makes the model run one bash tool call, then end its turn.
const scriptedModelModule = join(repoRoot, "conformance", "dist", "src", "scripted-model", "index.js");
const haveModel = existsSync(scriptedModelModule);
const python = "/usr/bin/python3";
const havePython = spawnSync(python, ["-c", "import grpc, google.protobuf"]).status === 0;
const haveGo = spawnSync("sh", ["-c", "command -v go"]).status === 0 && existsSync("/usr/share/gocode/src/google.golang.org/grpc");
if (!haveServerBuild || !haveModel) console.warn("!!! SKIPPED client examples because server/dist or conformance/dist is not built (npm test builds both)");

/** The parts of the scripted model this test uses; imported at run time from conformance/dist. */
interface ScriptedModel {
  readonly url: string;
  close(): Promise<void>;
}
interface ScriptedModelModule {
  startScriptedModel(options: { script: (request: { body: { messages: readonly { role: string }[] } }) => unknown }): Promise<ScriptedModel>;
}

const marker = "oma-example-42";
const script = (request: { body: { messages: readonly { role: string }[] } }) =>
  request.body.messages.some((m) => m.role === "assistant")
    ? { content: [{ type: "text", text: `The command printed ${marker}.` }] }
    : { content: [{ type: "tool_use", name: "bash", input: { command: `echo ${marker}` } }] };

interface Example {
  readonly language: string;
  readonly available: boolean;
  command(server: ServerProcess): { cmd: string; args: string[] };
}

let goBin = "";
const examples: Example[] = [
  {
    language: "TypeScript",
    available: true,
    command: (s) => ({ cmd: process.execPath, args: [join(repoRoot, "clients", "ts", "dist", "examples", "run-session.js"), "--base-url", s.url, "--model", "scripted-example", "--message", "Run the command."] }),
  },
  {
    language: "Python",
    available: havePython,
    command: (s) => ({ cmd: python, args: [join(repoRoot, "clients", "python", "examples", "run_session.py"), "--addr", `127.0.0.1:${s.port}`, "--model", "scripted-example", "--message", "Run the command."] }),
  },
  {
    language: "Go",
    available: haveGo,
    command: (s) => ({ cmd: goBin, args: ["-addr", `127.0.0.1:${s.port}`, "-model", "scripted-example", "-message", "Run the command.", "-timeout", "60s"] }),
  },
];
for (const e of examples) if (!e.available) console.warn(`!!! SKIPPED the ${e.language} example because its toolchain is missing (scripts/setup-system installs it)`);

function run(cmd: string, args: string[], token: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Every example reads its bearer token from OMA_TOKEN.
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OMA_TOKEN: token } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!haveServerBuild || !haveModel)("client examples against the reference server and the scripted model", () => {
  let model: ScriptedModel;
  let server: ServerProcess;
  let buildDir: string;
  let harnessMissing = "";
  beforeAll(async () => {
    buildDir = mkdtempSync(join(tmpdir(), "oma-examples-"));
    if (haveGo) {
      goBin = join(buildDir, "run-session");
      execFileSync(join(repoRoot, "clients", "go", "offline-go"), ["build", "-o", goBin, "./cmd/run-session"], { cwd: join(repoRoot, "clients", "go"), timeout: 120_000 });
    }
    const { startScriptedModel } = (await import(pathToFileURL(scriptedModelModule).href)) as ScriptedModelModule;
    model = await startScriptedModel({ script });
    server = await startServerProcess({ workers: 1, env: { ANTHROPIC_BASE_URL: model.url, ANTHROPIC_API_KEY: "scripted-model-key" } });
    const info = await createOmaClient({ baseUrl: server.url, token: server.token }).serverInfo.getServerInfo({});
    if (!info.features.includes("harness.core")) harnessMissing = `the server does not claim harness.core (features: ${info.features.join(", ")})`;
  });
  afterAll(async () => {
    await server?.stop();
    await model?.close();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it.for(examples.filter((e) => e.available).map((e) => [e.language, e] as const))("%s run-session: message, wake, a bash tool call, idle", async ([, example], ctx) => {
    if (harnessMissing) {
      console.warn(`!!! SKIPPED the ${example.language} example because ${harnessMissing}`);
      ctx.skip();
    }
    const { cmd, args } = example.command(server);
    const r = await run(cmd, args, server.token, 45_000);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const sessionId = /^session (\S+)$/.exec(lines[0] ?? "")?.[1];
    expect(sessionId).toBeDefined();
    const kinds = lines.slice(1).map((l) => l.split(" ")[1]);
    expect(kinds[0]).toMatch(/^user_?[mM]essage$/);
    expect(kinds.at(-1)).toMatch(/^status_?[cC]hanged$/);
    const log = await createOmaClient({ baseUrl: server.url, token: server.token }).sessions.getEvents({ sessionId: sessionId! });
    expect(lines.length - 1).toBe(log.events.length);
    const result = log.events.find((e) => e.payload.case === "toolResult");
    expect(result?.payload.case === "toolResult" && result.payload.value.output).toContain(marker);
    const text = log.events.filter((e) => e.payload.case === "agentMessage").flatMap((e) => (e.payload.case === "agentMessage" ? e.payload.value.content : []));
    expect(text.map((b) => (b.block.case === "text" ? b.block.value.text : "")).join("")).toContain(`The command printed ${marker}.`);
  });
});
