import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH } from "../testing/server-process.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { textEvent } from "../session/session-test-kit.js";

const run = promisify(execFile);

if (!existsSync(CLI_PATH)) console.warn(`!!! SKIPPED the CLI tests because ${CLI_PATH} is missing: run tsc -b first`);

describe.skipIf(!existsSync(CLI_PATH))("oma sessions / oma events over the public API", () => {
  let app: TestApp;
  let sessionId: string;
  const tag = randomUUID();
  beforeAll(async () => {
    app = await startTestApp();
    const client = app.client(SessionService);
    sessionId = (await client.createSession({ sessionId: `cli-${tag}`, labels: { run: tag }, agent: { model: "claude-test" } })).session!.sessionId;
    await client.emitEvents({ sessionId, events: [textEvent("first line"), textEvent("second\nline")] });
  });
  afterAll(async () => {
    await app.stop();
  });
  const oma = (...args: string[]) => run(process.execPath, [CLI_PATH, ...args, "--server", app.url, "--data-dir", app.dataDir], { timeout: 15_000 });

  it("sessions list prints matching sessions, one a line, without colour when not a terminal", async () => {
    const { stdout } = await oma("sessions", "list", "--label", `run=${tag}`);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(stdout).toMatch(new RegExp(`^cli-${tag}\\s+idle\\s+head=2`));
    expect(stdout).not.toContain("\u001b[");
  });

  it("sessions list says so on stderr when nothing matches, and --limit 0 prints nothing", async () => {
    const none = await oma("sessions", "list", "--label", `run=${randomUUID()}`);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe("no sessions\n");
    const zero = await oma("sessions", "list", "--label", `run=${tag}`, "--limit", "0");
    expect(zero.stdout).toBe("");
  });

  it("sessions show prints the session's fields; an unknown id fails with the reason", async () => {
    const { stdout } = await oma("sessions", "show", sessionId);
    expect(stdout).toMatch(/head_seq\s+2/);
    expect(stdout).toMatch(/model\s+claude-test/);
    const failure = await oma("sessions", "show", `missing-${tag}`).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("NotFound SESSION_NOT_FOUND");
  });

  it("events prints one event a line; --follow keeps printing new events", async () => {
    const { stdout } = await oma("events", sessionId);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/#1 .*user_message\s+first line$/);
    expect(lines[1]).toMatch(/#2 .*second⏎line$/);

    const child = spawn(process.execPath, [CLI_PATH, "events", sessionId, "--follow", "--after", "1", "--server", app.url, "--data-dir", app.dataDir], { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      const seen: string[] = [];
      const lines = createInterface({ input: child.stdout });
      const third = new Promise<void>((resolve) =>
        lines.on("line", (line) => {
          seen.push(line);
          if (line.includes("third")) resolve();
        }),
      );
      const second = new Promise<void>((resolve) => lines.on("line", (line) => line.includes("#2") && resolve()));
      await second;
      await app.client(SessionService).emitEvent({ sessionId, event: textEvent("third") });
      await third;
      expect(seen.map((l) => l.trim().split(" ")[0])).toEqual(["#2", "#3"]);
      child.kill("SIGINT");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
    } finally {
      clearTimeout(timer);
      child.kill("SIGKILL");
    }
  });
});
