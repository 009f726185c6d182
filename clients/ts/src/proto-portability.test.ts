import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// WIRE-2: nothing in the protocol is TypeScript-only. Debian's protoc and gRPC Python
// plugin compile every .proto, and Debian's interpreter imports the stubs.
const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const protoRoot = join(repo, "proto");
const python = "/usr/bin/python3";
const plugin = "/usr/bin/grpc_python_plugin";
const haveTools = existsSync("/usr/bin/protoc") && existsSync(plugin) && spawnSync(python, ["-c", "import grpc"]).status === 0;
if (!haveTools) console.warn("!!! SKIPPED proto portability: needs protoc, grpc_python_plugin and python3-grpcio (scripts/setup-system installs them)");

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? protoFiles(join(dir, e.name)) : e.name.endsWith(".proto") ? [relative(protoRoot, join(dir, e.name))] : [],
  );
}

describe.skipIf(!haveTools)("protocol portability (Python)", () => {
  it("generates Python gRPC stubs with Debian protoc and imports every service with python3-grpcio", () => {
    const out = mkdtempSync(join(tmpdir(), "oma-py-"));
    try {
      const files = protoFiles(protoRoot);
      execFileSync("/usr/bin/protoc", [`-I${protoRoot}`, "-I/usr/include", `--python_out=${out}`, `--grpc_python_out=${out}`, `--plugin=protoc-gen-grpc_python=${plugin}`, ...files]);
      const script = [
        "import sys",
        `sys.path.insert(0, ${JSON.stringify(out)})`,
        "from oma.v1 import session_service_pb2_grpc, harness_service_pb2_grpc, sandbox_service_pb2_grpc, server_info_service_pb2_grpc",
        "from oma.v1 import event_pb2, error_reason_pb2",
        "e = event_pb2.Event(seq=3)",
        "e.user_message.content.add().text.text = 'hi'",
        "assert event_pb2.Event.FromString(e.SerializeToString()).user_message.content[0].text.text == 'hi'",
        "print(error_reason_pb2.ErrorReason.Name(error_reason_pb2.ERROR_REASON_LEASE_LOST))",
        "print(hasattr(session_service_pb2_grpc, 'SessionServiceStub'), hasattr(harness_service_pb2_grpc, 'HarnessServiceStub'), hasattr(sandbox_service_pb2_grpc, 'SandboxServiceStub'))",
      ].join("\n");
      const printed = execFileSync(python, ["-c", script], { encoding: "utf8" });
      expect(printed.trim().split("\n")).toEqual(["ERROR_REASON_LEASE_LOST", "True True True"]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
