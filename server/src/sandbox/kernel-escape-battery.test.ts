import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { KERNEL_ESCAPE_ATTEMPTS, KERNEL_ESCAPE_PROBE } from "@oma/conformance/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { announceSkips, backendsUnderTest, bash } from "./sandbox-test-support.js";

// SEC-17: what container escapes start with, tried for real from inside a sandbox of every
// isolating backend (the suite's probe, conformance/src/cases/security/kernel-probe.ts):
// each attempt must fail. The same probe on the
// process backend (declared unisolated, run as the server's user) is the control: there every
// attempt succeeds, so a failure inside is the sandbox's doing, not a broken probe.
const all = backendsUnderTest();
const isolated = all.filter((b) => b.name !== "process");
const processBackend = all.find((b) => b.name === "process")!;
announceSkips("the kernel escape battery", isolated);
const MiB = 1024 * 1024;
const limits = { diskBytes: 32 * MiB, pids: 48, memoryBytes: 96 * MiB };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

async function runBattery(backend: string): Promise<Map<string, string>> {
  const client = app.client(SandboxService);
  const { sandbox } = await client.provision({ resources: { backend, diskBytes: BigInt(limits.diskBytes), pids: limits.pids, memoryBytes: BigInt(limits.memoryBytes) } });
  const sandboxId = sandbox!.sandboxId;
  try {
    await client.execute({ sandboxId, name: "write_file", input: { path: "probe.py", content: KERNEL_ESCAPE_PROBE } });
    const r = await bash(client, sandboxId, `python3 probe.py ${limits.diskBytes} ${limits.pids} ${limits.memoryBytes}`, { timeout: 120_000 });
    const lines = r.output.split("\n").filter((l) => l.startsWith("ATTEMPT "));
    return new Map(lines.map((l) => [l.split(" ")[1]!, l]));
  } finally {
    await client.destroySandbox({ sandboxId });
  }
}

describe.each(isolated)("kernel escape battery on $name", (backend) => {
  it.skipIf(!backend.available)("SEC-17 every attempt fails inside the sandbox", { timeout: 180_000 }, async () => {
    const results = await runBattery(backend.name);
    expect([...results.keys()]).toEqual([...KERNEL_ESCAPE_ATTEMPTS]);
    expect([...results.values()].filter((l) => !l.includes(" FAILED "))).toEqual([]);
  });
});

describe("kernel escape battery control", () => {
  it.skipIf(!processBackend.available || process.getuid?.() !== 0)("on the process backend, run by root on the host, every attempt succeeds", { timeout: 180_000 }, async () => {
    const results = await runBattery("process");
    expect([...results.keys()]).toEqual([...KERNEL_ESCAPE_ATTEMPTS]);
    expect([...results.values()].filter((l) => !l.includes(" SUCCEEDED "))).toEqual([]);
  });
});
