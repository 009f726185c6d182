import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { NetworkMode, SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcRejection as rejection } from "../testing/rpc-rejection.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { announceSkips, backendsUnderTest, bash } from "./sandbox-test-support.js";
import { workspaceDisksAvailable } from "./workspace-disk.js";

// SBX-1, SBX-8, SBX-10, SBX-11, SBX-13, SBX-14 through the real server on port 0.
const backends = backendsUnderTest();
announceSkips("sandbox lifecycle tests", backends);

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});


const poll = async (check: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

describe("sandbox service", () => {
  it("GetServerInfo lists the working backends, the default first, and claims the sandbox features", async () => {
    const info = await app.client(ServerInfoService).getServerInfo({});
    const expected = backends.filter((b) => b.available).map((b) => b.name);
    expect([...info.sandboxBackends].sort()).toEqual([...expected].sort());
    expect(info.sandboxBackends[0]).toBe(expected[0]); // docker, else bubblewrap, else process
    expect(info.features).toEqual(expect.arrayContaining(["sandbox.core", "sandbox.stream"]));
    // Isolation is claimed only when the default backend isolates.
    expect(info.features.includes("sandbox.isolation")).toBe(expected[0] !== "process");
  });

  it("a server whose default backend is the unisolated process backend does not claim sandbox.isolation", async () => {
    if (!backends.find((b) => b.name === "process")?.available) return;
    const unisolated = await startTestApp({ sandboxBackend: "process" });
    try {
      const info = await unisolated.client(ServerInfoService).getServerInfo({});
      expect(info.sandboxBackends[0]).toBe("process");
      expect(info.features).toEqual(expect.arrayContaining(["sandbox.core", "sandbox.stream"]));
      expect(info.features).not.toContain("sandbox.isolation");
    } finally {
      await unisolated.stop();
    }
  });

  it("SBX-2 ListTools describes the seven tools with a JSON Schema each", async () => {
    const { tools } = await app.client(SandboxService).listTools({});
    expect(tools.map((t) => t.name).sort()).toEqual(["bash", "edit_file", "glob", "grep", "list_files", "read_file", "write_file"]);
    for (const t of tools) expect(t.inputSchema?.["type"]).toBe("object");
  });

  it("SBX-1 out-of-range resources are INVALID_FIELD naming the field; an unknown backend is BACKEND_UNAVAILABLE", async () => {
    const c = app.client(SandboxService);
    const cpu = await rejection(c.provision({ resources: { cpu: 65 } }));
    expect([cpu.code, cpu.reason, cpu.field]).toEqual([Code.InvalidArgument, "INVALID_FIELD", "resources.cpu"]);
    const mem = await rejection(c.provision({ resources: { memoryBytes: 1024n } }));
    expect(mem.field).toBe("resources.memory_bytes");
    const file = await rejection(c.provision({ resources: { files: [{ path: "../x", content: new Uint8Array() }] } }));
    expect(file.field).toBe("resources.files[0].path");
    const backend = await rejection(c.provision({ resources: { backend: "vm" } }));
    expect([backend.code, backend.reason]).toEqual([Code.Unavailable, "BACKEND_UNAVAILABLE"]);
    // The process backend has no private loopback to wire a gateway into.
    const allowList = await rejection(c.provision({ resources: { backend: "process", network: { mode: NetworkMode.ALLOW_LIST, allow: ["example.org"] } } }));
    expect([allowList.code, allowList.reason, allowList.field]).toEqual([Code.Unavailable, "BACKEND_UNAVAILABLE", "resources.network.mode"]);
    const emptyList = await rejection(c.provision({ resources: { network: { mode: NetworkMode.ALLOW_LIST } } }));
    expect([emptyList.reason, emptyList.field]).toEqual(["INVALID_FIELD", "resources.network.allow"]);
    const badEntry = await rejection(c.provision({ resources: { network: { mode: NetworkMode.ALLOW_LIST, allow: ["example.org", "not a host!"] } } }));
    expect([badEntry.reason, badEntry.field]).toEqual(["INVALID_FIELD", "resources.network.allow[1]"]);
    const sshRepo = await rejection(c.provision({ resources: { repositories: [{ url: "git@github.com:o/r.git" }] } }));
    expect([sshRepo.reason, sshRepo.field]).toEqual(["INVALID_FIELD", "resources.repositories[0].url"]);
    const tokenInUrl = await rejection(c.provision({ resources: { repositories: [{ url: "https://user:secret@git.example/r.git" }] } }));
    expect([tokenInUrl.reason, tokenInUrl.field]).toEqual(["INVALID_FIELD", "resources.repositories[0].url"]);
    expect(tokenInUrl.message).not.toContain("secret");
    const env = await rejection(c.provision({ resources: { env: { "1BAD": "x" } } }));
    expect([env.reason, env.field]).toEqual(["INVALID_FIELD", 'resources.env["1BAD"]']);
  });

  it("WIRE-4 ListSandboxes pages through a session's sandboxes, also past a destroyed one; a foreign or other-filter token is INVALID_PAGE_TOKEN", async () => {
    const c = app.client(SandboxService);
    const backend = backends.find((b) => b.available && b.name !== "docker")?.name ?? "";
    const sessionId = `ses_${randomUUID().replace(/-/g, "")}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.provision({ resources: { backend }, sessionId })).sandbox!.sandboxId);
    try {
      const first = await c.listSandboxes({ sessionId, pageSize: 2 });
      expect(first.sandboxes.length).toBe(2);
      expect(first.nextPageToken).not.toBe("");
      const second = await c.listSandboxes({ sessionId, pageSize: 2, pageToken: first.nextPageToken });
      expect(second.nextPageToken).toBe("");
      expect([...first.sandboxes, ...second.sandboxes].map((s) => s.sandboxId).sort()).toEqual([...ids].sort());
      const bad = await rejection(c.listSandboxes({ sessionId, pageToken: "bm9wZQ" }));
      expect([bad.code, bad.reason]).toEqual([Code.InvalidArgument, "INVALID_PAGE_TOKEN"]);
      const other = await rejection(c.listSandboxes({ sessionId: `${sessionId}x`, pageSize: 2, pageToken: first.nextPageToken }));
      expect(other.reason).toBe("INVALID_PAGE_TOKEN");
      // The sandbox a token points after is destroyed: the listing goes on below it.
      const one = await c.listSandboxes({ sessionId, pageSize: 1 });
      await c.destroySandbox({ sandboxId: one.sandboxes[0]!.sandboxId });
      const rest = await c.listSandboxes({ sessionId, pageSize: 5, pageToken: one.nextPageToken });
      expect(rest.sandboxes.map((s) => s.sandboxId).sort()).toEqual(ids.filter((id) => id !== one.sandboxes[0]!.sandboxId).sort());
    } finally {
      for (const sandboxId of ids) await c.destroySandbox({ sandboxId });
    }
  });

  it.skipIf(!backends.find((b) => b.name === "docker")?.available)("SBX-1 a docker image that is not on the engine is BACKEND_UNAVAILABLE", async () => {
    const err = await rejection(app.client(SandboxService).provision({ resources: { backend: "docker", image: `oma-no-such-image:${randomUUID()}` } }));
    expect([err.code, err.reason]).toEqual([Code.Unavailable, "BACKEND_UNAVAILABLE"]);
  });

  it("SBX-11/14 unknown ids are SANDBOX_NOT_FOUND; a malformed id is INVALID_FIELD; destroy of an unknown id succeeds", async () => {
    const c = app.client(SandboxService);
    const unknown = `sbx_${randomUUID().replace(/-/g, "")}`;
    const nf = await rejection(bash(c, unknown, "true"));
    expect([nf.code, nf.reason]).toEqual([Code.NotFound, "SANDBOX_NOT_FOUND"]);
    expect((await rejection(c.getSandbox({ sandboxId: unknown }))).reason).toBe("SANDBOX_NOT_FOUND");
    await c.destroySandbox({ sandboxId: unknown });
    const bad = await rejection(c.getSandbox({ sandboxId: "nope" }));
    expect([bad.reason, bad.field]).toEqual(["INVALID_FIELD", "sandbox_id"]);
  });
});

describe.each(backends)("sandbox lifecycle on $name", (backend) => {
  // Isolation tests exist only for backends that claim isolation: the process backend
  // declares itself unisolated (the escape battery's control run shows it reaches the host).
  const itIsolated = backend.name === "process" ? () => undefined : it.skipIf(!backend.available);
  const c = () => app.client(SandboxService);
  const provision = async (extra: object = {}) => (await c().provision({ resources: { backend: backend.name, ...extra }, labels: { test: "lifecycle" } })).sandbox!;

  it.skipIf(!backend.available)("SBX-1 files and env of the recipe are in place; SBX-14 destroy twice succeeds, then NOT_FOUND", async () => {
    const s = await provision({ files: [{ path: "dir/hello.txt", content: new TextEncoder().encode("hi there") }], env: { GREETING: "hello" } });
    const r = await bash(c(), s.sandboxId, 'cat dir/hello.txt; echo " $GREETING"; echo more >> dir/hello.txt');
    expect(r.output).toBe("hi there hello\n");
    expect(r.isError).toBe(false);
    const listed = await c().listSandboxes({ pageSize: 1000 });
    expect(listed.sandboxes.map((x) => x.sandboxId)).toContain(s.sandboxId);
    await c().destroySandbox({ sandboxId: s.sandboxId });
    await c().destroySandbox({ sandboxId: s.sandboxId });
    expect((await rejection(bash(c(), s.sandboxId, "true"))).reason).toBe("SANDBOX_NOT_FOUND");
  });

  it.skipIf(!backend.available)("SBX-1 the commands a model reaches for first work alike on every backend: ls -l, stat, du (on gVisor through the statx shim)", async () => {
    const s = await provision({ files: [{ path: "notes.txt", content: new TextEncoder().encode("twelve bytes") }] });
    try {
      const r = await bash(c(), s.sandboxId, "ls -l notes.txt | cut -d' ' -f5-; stat -c '%s %n' notes.txt; du -b notes.txt");
      expect(r.isError).toBe(false);
      expect(r.output.split("\n").map((line) => line.replace(/\s+/g, " "))).toEqual([expect.stringMatching(/^12 .* notes\.txt$/), "12 notes.txt", "12 notes.txt", ""]);
    } finally {
      await c().destroySandbox({ sandboxId: s.sandboxId });
    }
  });

  it.skipIf(!backend.available)("SBX-9 a command (and all it starts) is first in line for the OOM killer, its tool runner is not; it still runs as bash -c", async () => {
    const s = await provision({});
    try {
      // $PPID of the command's bash is the tool runner that serves the sandbox.
      const r = await bash(c(), s.sandboxId, "cat /proc/self/oom_score_adj; sh -c 'cat /proc/self/oom_score_adj'; cat /proc/$PPID/oom_score_adj; echo \"$0 $LINENO\"");
      const [command, child, runner, name] = r.output.split("\n");
      expect([command, child, name]).toEqual(["1000", "1000", "bash 1"]);
      expect(Number(runner)).toBeLessThan(1000);
    } finally {
      await c().destroySandbox({ sandboxId: s.sandboxId });
    }
  });

  it.skipIf(!backend.available)("SBX-8 a repeated idempotency key replays the recorded result, waits for a running call, and rejects other input", async () => {
    const s = await provision();
    try {
      const key = randomUUID();
      const call = { sandboxId: s.sandboxId, name: "bash", input: { command: "sleep 0.5; echo run >> runs.txt; wc -l < runs.txt" }, idempotencyKey: key };
      const [first, concurrent] = await Promise.all([c().execute(call), new Promise((r) => setTimeout(r, 100)).then(() => c().execute(call))]);
      expect(first.replayed).toBe(false);
      expect(concurrent.replayed).toBe(true);
      expect(concurrent.output).toBe(first.output);
      const burst = await Promise.all([1, 2, 3].map(() => c().execute({ ...call, idempotencyKey: `${key}-burst` })));
      expect(burst.filter((r) => !r.replayed).length).toBe(1);
      expect(new Set(burst.map((r) => r.output)).size).toBe(1);
      const again = await c().execute(call);
      expect([again.replayed, again.output]).toEqual([true, "1\n"]);
      const reused = await rejection(c().execute({ ...call, input: { command: "echo other" } }));
      expect([reused.code, reused.reason]).toEqual([Code.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED"]);
      expect((await bash(c(), s.sandboxId, "wc -l < runs.txt")).output).toBe("2\n"); // One run per key.
    } finally {
      await c().destroySandbox({ sandboxId: s.sandboxId });
    }
  });

  it.skipIf(!backend.available)("SBX-10 ExecuteStream sends contiguous chunks as produced; re-opening with the key and an offset gets the rest", async () => {
    const s = await provision();
    try {
      const key = randomUUID();
      const req = { sandboxId: s.sandboxId, name: "bash", input: { command: "for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done" }, idempotencyKey: key };
      let received = Buffer.alloc(0);
      const hangUp = new AbortController();
      await (async () => {
        for await (const msg of c().executeStream(req, { signal: hangUp.signal })) {
          if (msg.message.case === "chunk") {
            expect(Number(msg.message.value.offset)).toBe(received.length);
            received = Buffer.concat([received, msg.message.value.data]);
            if (received.toString().includes("line-2")) hangUp.abort(); // Disconnect mid-way.
          }
        }
      })().catch(() => undefined);
      expect(hangUp.signal.aborted).toBe(true);
      const resumeAt = received.length;
      let rest = Buffer.alloc(0);
      let result: { output: string; replayed: boolean } | undefined;
      for await (const msg of c().executeStream({ ...req, resumeOffset: BigInt(resumeAt) })) {
        if (msg.message.case === "chunk") {
          expect(Number(msg.message.value.offset)).toBe(resumeAt + rest.length);
          rest = Buffer.concat([rest, msg.message.value.data]);
        } else if (msg.message.case === "result") result = msg.message.value;
      }
      expect(Buffer.concat([received, rest]).toString()).toBe("line-1\nline-2\nline-3\nline-4\nline-5\n");
      expect(result?.output).toBe("line-1\nline-2\nline-3\nline-4\nline-5\n");
      const unknown = await rejection(collect(c().executeStream({ ...req, idempotencyKey: randomUUID(), resumeOffset: 5n })));
      expect([unknown.code, unknown.reason]).toEqual([Code.NotFound, "EXECUTION_NOT_FOUND"]);
    } finally {
      await c().destroySandbox({ sandboxId: s.sandboxId });
    }
  });

  itIsolated("SandboxSecurity is strict by default and each switch loosens its own thing", async () => {
    // NoNewPrivs from prctl(PR_GET_NO_NEW_PRIVS): gVisor's /proc/self/status has no such line.
    const probe = "id -u; touch /probe-root 2>/dev/null && echo root-writable || echo root-read-only; grep -E '^CapEff:' /proc/self/status | tr -s '\\t ' ' '; python3 -c \"import ctypes; print('NoNewPrivs:', ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))\"";
    const strict = await provision();
    // Where workspace disks are enforced, runc's writable root (on the host's disk, outside
    // disk_bytes) is refused (SBX-16, workspace-disk.test.ts); its other switches still loosen.
    const writableRoot = backend.name !== "docker" || !workspaceDisksAvailable().available;
    const loose = await provision({ security: { runAsRoot: true, writableRoot, keepCapabilities: true, allowPrivilegeEscalation: true } });
    try {
      expect((await bash(c(), strict.sandboxId, probe)).output).toBe("1000\nroot-read-only\nCapEff: 0000000000000000\nNoNewPrivs: 1\n");
      const out = (await bash(c(), loose.sandboxId, probe)).output.split("\n");
      expect(out.slice(0, 2)).toEqual(["0", writableRoot ? "root-writable" : "root-read-only"]);
      expect(out[2]).not.toBe("CapEff: 0000000000000000");
      // bubblewrap and gVisor (runsc) always set no-new-privileges; docker honours the switch.
      expect(out[3]).toBe(backend.name === "docker" ? "NoNewPrivs: 0" : "NoNewPrivs: 1");
    } finally {
      await c().destroySandbox({ sandboxId: strict.sandboxId });
      await c().destroySandbox({ sandboxId: loose.sandboxId });
    }
  });

  itIsolated("SBX-12 only loopback by default; network FULL gives the sandbox a real interface", async () => {
    const interfaces = "python3 -c \"import socket; print(' '.join(sorted(n for _, n in socket.if_nameindex())))\"";
    const none = await provision();
    if (backend.name === "gvisor") {
      // gVisor runs its own network stack without a host interface: FULL is refused, loudly.
      expect((await bash(c(), none.sandboxId, interfaces)).output).toBe("lo\n");
      await c().destroySandbox({ sandboxId: none.sandboxId });
      const refused = await rejection(provision({ network: { mode: NetworkMode.FULL } }));
      expect([refused.code, refused.reason, refused.field]).toEqual([Code.Unavailable, "BACKEND_UNAVAILABLE", "resources.network.mode"]);
      return;
    }
    const full = await provision({ network: { mode: NetworkMode.FULL } });
    try {
      expect((await bash(c(), none.sandboxId, interfaces)).output).toBe("lo\n");
      expect((await bash(c(), full.sandboxId, interfaces)).output.trim().split(" ").filter((n) => n !== "lo").length).toBeGreaterThan(0);
    } finally {
      await c().destroySandbox({ sandboxId: none.sandboxId });
      await c().destroySandbox({ sandboxId: full.sandboxId });
    }
  });

  it.skipIf(!backend.available)("SBX-13 an idle sandbox is reaped after its TTL; RenewSandbox pushes the expiry out", async () => {
    const s = await provision({ idleTtl: durationFromMs(1500) });
    await new Promise((r) => setTimeout(r, 50));
    await bash(c(), s.sandboxId, "true");
    const afterExecute = (await c().getSandbox({ sandboxId: s.sandboxId })).sandbox!.expireTime!;
    expect(timestampMs(afterExecute)).toBeGreaterThan(timestampMs(s.expireTime!)); // Every Execute pushes the expiry out.
    const renewed = (await c().renewSandbox({ sandboxId: s.sandboxId, ttl: durationFromMs(60_000) })).sandbox!;
    expect(Number(renewed.expireTime!.seconds)).toBeGreaterThan(Number(s.expireTime!.seconds) + 30);
    const short = await provision({ idleTtl: durationFromMs(1000) });
    const reaped = await poll(async () => (await c().getSandbox({ sandboxId: short.sandboxId }).then(() => false, () => true)), 10_000);
    expect(reaped).toBe(true);
    expect((await c().getSandbox({ sandboxId: s.sandboxId })).sandbox!.state).toBe(SandboxState.READY);
    await c().destroySandbox({ sandboxId: s.sandboxId });
  });
});

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of stream) out.push(m);
  return out;
}
