import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { announceSkips, backendsUnderTest, bash } from "./sandbox-test-support.js";

// SEC-1 / SEC-2: the escape battery, from inside a sandbox of every isolated backend. The
// process backend declares itself unisolated (development only) and is excluded, as SEC-2 allows.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("the sandbox escape battery", backends);

const secret = `oma-secret-${randomBytes(16).toString("hex")}`;
let app: TestApp;
let hostAddresses: string[] = [];

beforeAll(async () => {
  process.env["OMA_TEST_SECRET"] = secret; // In the server's environment before it starts.
  app = await startTestApp();
  await writeFile(join(app.dataDir, "secret.txt"), secret, { mode: 0o600 }); // A file the server can read.
  hostAddresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === "IPv4").map((a) => a.address));
});
afterAll(async () => {
  delete process.env["OMA_TEST_SECRET"];
  await app?.stop();
});

/**
 * Prints its whole environment and every readable /proc/<pid>/environ (the test looks for
 * the secret in the output), then makes each attempt, printing "ATTEMPT <name> SUCCEEDED
 * <detail>" or "ATTEMPT <name> FAILED <why>". The secret itself is not in the script.
 */
function probeScript(dataDir: string, port: number, addresses: readonly string[]): string {
  return `
import glob, os, socket
def attempt(name, fn):
    try:
        detail = fn()
        print("ATTEMPT", name, "SUCCEEDED", repr(detail)[:300])
    except Exception as e:
        print("ATTEMPT", name, "FAILED", type(e).__name__)
def read(path):
    with open(path, "rb") as f:
        return f.read()
def dump_environs():
    for p in glob.glob("/proc/*/environ"):
        try:
            print(p, read(p).replace(b"\\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
def unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
def tcp(host, port):
    socket.create_connection((host, port), timeout=2).close()
print(dict(os.environ))
dump_environs()
attempt("proc-1-root-datadir", lambda: read("/proc/1/root" + ${JSON.stringify(join(dataDir, "secret.txt"))}))
attempt("datadir", lambda: read(${JSON.stringify(join(dataDir, "secret.txt"))}))
attempt("datadir-listing", lambda: os.listdir(${JSON.stringify(dataDir)}))
attempt("docker-socket", lambda: unix("/var/run/docker.sock"))
attempt("docker-socket-run", lambda: unix("/run/docker.sock"))
attempt("server-port-loopback", lambda: tcp("127.0.0.1", ${port}))
${addresses.map((a) => `attempt("server-port-${a}", lambda: tcp(${JSON.stringify(a)}, ${port}))`).join("\n")}
attempt("outside-1.1.1.1", lambda: tcp("1.1.1.1", 53))
attempt("outside-8.8.8.8", lambda: tcp("8.8.8.8", 53))
`;
}

describe.each(backends)("escape battery on $name", (backend) => {
  it.skipIf(!backend.available)("SEC-1/SEC-2 the server's secret is never seen and every attempt fails", async () => {
    const c = app.client(SandboxService);
    const { sandbox } = await c.provision({ resources: { backend: backend.name } });
    const sandboxId = sandbox!.sandboxId;
    try {
      await c.execute({ sandboxId, name: "write_file", input: { path: "probe.py", content: probeScript(app.dataDir, app.port, hostAddresses) } });
      const probe = await bash(c, sandboxId, "python3 probe.py", { timeout: 60_000 });
      const attempts = probe.output.split("\n").filter((l) => l.startsWith("ATTEMPT "));
      expect(attempts.length).toBe(8 + hostAddresses.length);
      expect(attempts.filter((l) => !l.includes(" FAILED "))).toEqual([]);
      const shell = await bash(c, sandboxId, "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; ls -la /proc/1/root/ /var/run /run 2>&1; grep -rs oma-secret /etc /tmp /home /workspace 2>/dev/null; true");
      for (const output of [probe.output, shell.output]) expect(output).not.toContain(secret);
      // The file tools cannot reach it either.
      const read = await c.execute({ sandboxId, name: "read_file", input: { path: join(app.dataDir, "secret.txt") } });
      expect(read.isError).toBe(true);
      expect(read.output).not.toContain(secret);
    } finally {
      await c.destroySandbox({ sandboxId });
    }
  });
});

// The battery can fail: on the unisolated process backend the same probe reaches the secret.
const processBackend = backendsUnderTest().find((b) => b.name === "process")!;
describe("escape battery control", () => {
  it.skipIf(!processBackend.available)("on the process backend (declared unisolated) the probe does see the secret", async () => {
    const c = app.client(SandboxService);
    const { sandbox } = await c.provision({ resources: { backend: "process" } });
    const sandboxId = sandbox!.sandboxId;
    try {
      await c.execute({ sandboxId, name: "write_file", input: { path: "probe.py", content: probeScript(app.dataDir, app.port, hostAddresses) } });
      const probe = await bash(c, sandboxId, "python3 probe.py", { timeout: 60_000 });
      expect(probe.output).toContain(secret);
      expect(probe.output).toMatch(/ATTEMPT datadir SUCCEEDED/);
    } finally {
      await c.destroySandbox({ sandboxId });
    }
  });
});
