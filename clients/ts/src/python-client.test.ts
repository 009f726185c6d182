import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appenderPromiseTests } from "./testing/appender-driver-tests.js";
import { clientPromiseTests } from "./testing/language-driver-tests.js";
import { haveServerBuild, repoRoot, startServerProcess, type ServerProcess } from "./testing/server-process.js";

// The Python client (clients/python): its unit tests, its package, and the end-to-end
// promises of every client against the reference server as a process.
const python = "/usr/bin/python3";
const pythonDir = join(repoRoot, "clients", "python");
const havePython = spawnSync(python, ["-c", "import grpc, google.protobuf"]).status === 0;
if (!havePython) console.warn("!!! SKIPPED Python client tests because /usr/bin/python3 with grpcio is missing (scripts/setup-system installs it)");
if (havePython && !haveServerBuild) console.warn("!!! SKIPPED Python end-to-end tests because server/dist is not built (npm test builds it)");

describe.skipIf(!havePython)("Python client", () => {
  it("passes its unit tests (python3 -m unittest: watch reconnects, idle timeout, stop, emit retries, typed errors, appender resends)", () => {
    const r = spawnSync(python, ["-m", "unittest", "discover", "-s", "tests", "-p", "test_*.py"], { cwd: pythonDir, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toMatch(/\nOK\s*$/);
    expect(r.status).toBe(0);
  });

  it("builds as a wheel whose client and stubs import without the checkout on the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "oma-py-wheel-"));
    try {
      // A copy, so the build leaves nothing behind in the tree.
      const src = join(dir, "src");
      execFileSync("cp", ["-r", pythonDir, src]);
      execFileSync(python, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", join(dir, "wheel"), src], { timeout: 120_000 });
      execFileSync(python, ["-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", join(dir, "site"), "--find-links", join(dir, "wheel"), "oma-client"], { timeout: 120_000 });
      const script = [
        "import sys",
        `sys.path.insert(0, ${JSON.stringify(join(dir, "site"))})`,
        "import oma_client",
        "from oma.v1 import session_service_pb2_grpc",
        "from google.rpc import error_details_pb2",
        `assert oma_client.__file__.startswith(${JSON.stringify(join(dir, "site"))}), oma_client.__file__`,
        "print(oma_client.user_text('hi').user_message.content[0].text.text, hasattr(session_service_pb2_grpc, 'SessionServiceStub'))",
      ].join("\n");
      expect(execFileSync(python, ["-I", "-c", script], { encoding: "utf8", cwd: dir }).trim()).toBe("hi True");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!havePython || !haveServerBuild)("Python client against a server that crashes and comes back", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const pythonDriver = { language: "Python", slowWatcherPaddingBytes: 4096, command: () => ({ cmd: python, args: [join(pythonDir, "tests", "e2e_driver.py")] }) };
  clientPromiseTests(pythonDriver, () => server);
  appenderPromiseTests(pythonDriver, () => server);
});
