import { randomBytes } from "node:crypto";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, expectFailure } from "../../runner/assertions.js";
import { bash, defaultBackendIsUnisolated, exec, withSandbox, X } from "./sandbox-helpers.js";

const core = { feature: "sandbox.core", level: "MUST" } as const;
const TOOL_NAMES = ["bash", "read_file", "write_file", "edit_file", "list_files", "glob", "grep"];

export const sandboxCases: ConformanceCase[] = [
  {
    ...core,
    id: "sandbox/SBX-1/provision-defaults",
    requirement: "SBX-1",
    title: "an empty Provision returns a READY sandbox with an sbx_ id; out-of-range resources are INVALID_FIELD; an unknown backend BACKEND_UNAVAILABLE",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        check(sandboxId.startsWith("sbx_"), `a sandbox id must start with sbx_ (WIRE-8), got ${sandboxId}`);
        const got = await ctx.rpc.unary(X.getSandbox, { sandboxId });
        checkEqual(got.sandbox?.state, SandboxState.READY, "state");
      });
      await expectFailure(ctx.rpc.unary(X.provision, { resources: { cpu: 1000 } }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "resources" }, "cpu 1000");
      await expectFailure(ctx.rpc.unary(X.provision, { resources: { memoryBytes: 1024n } }), { code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", field: "resources" }, "memory 1 KiB");
      await expectFailure(ctx.rpc.unary(X.provision, { resources: { backend: "no-such-backend" } }), { code: "UNAVAILABLE", reason: "BACKEND_UNAVAILABLE" }, "an unknown backend");
    },
  },
  {
    ...core,
    id: "sandbox/SBX-2/list-tools",
    requirement: "SBX-2",
    title: "ListTools describes bash, read_file, write_file, edit_file, list_files, glob and grep with object JSON Schemas",
    async run(ctx) {
      const res = await ctx.rpc.unary(X.listTools, {});
      const byName = new Map(res.tools.map((t) => [t.name, t]));
      for (const name of TOOL_NAMES) {
        const tool = byName.get(name);
        check(tool, `tool ${name} is missing`);
        check(tool.description !== "", `tool ${name} needs a description`);
        const schema = tool.inputSchema as { type?: unknown; properties?: unknown } | undefined;
        check(schema?.type === "object" && typeof schema.properties === "object", `tool ${name}: input_schema must be an object schema`);
      }
    },
  },
  {
    ...core,
    id: "sandbox/SBX-3/unknown-tool-and-bad-input",
    requirement: "SBX-3",
    title: "an unknown tool is TOOL_NOT_FOUND; input not matching the schema is INVALID_TOOL_INPUT",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        await expectFailure(exec(ctx, sandboxId, "no_such_tool", {}), { code: "NOT_FOUND", reason: "TOOL_NOT_FOUND" }, "Execute of an unknown tool");
        await expectFailure(exec(ctx, sandboxId, "bash", {}), { code: "INVALID_ARGUMENT", reason: "INVALID_TOOL_INPUT" }, "bash without command");
        await expectFailure(exec(ctx, sandboxId, "read_file", { path: 42 }), { code: "INVALID_ARGUMENT", reason: "INVALID_TOOL_INPUT" }, "read_file with a numeric path");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-4/tool-failure-is-result",
    requirement: "SBX-4",
    title: "a failing tool (non-zero exit, missing file, non-unique edit) is a successful RPC with is_error",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const ok = await bash(ctx, sandboxId, "echo hello");
        check(!ok.isError && ok.output.includes("hello") && ok.exitCode === 0, `echo hello: is_error=${ok.isError} exit=${ok.exitCode} output=${JSON.stringify(ok.output)}`);
        const exit3 = await bash(ctx, sandboxId, "echo oops >&2; exit 3");
        check(exit3.isError && exit3.exitCode === 3, `exit 3: is_error=${exit3.isError} exit_code=${exit3.exitCode}`);
        const missing = await exec(ctx, sandboxId, "read_file", { path: "does-not-exist.txt" });
        check(missing.isError && missing.output !== "", "reading a missing file must be is_error with an explanation");
        const write = await exec(ctx, sandboxId, "write_file", { path: "twice.txt", content: "a\na\n" });
        check(!write.isError, `write_file failed: ${write.output}`);
        const edit = await exec(ctx, sandboxId, "edit_file", { path: "twice.txt", old_string: "a", new_string: "b" });
        check(edit.isError, "an edit whose old_string is not unique must be is_error");
        const read = await exec(ctx, sandboxId, "read_file", { path: "twice.txt" });
        check(!read.isError && !read.output.includes("b"), "a failed edit must leave the file unchanged");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-5/timeout-kills-tree",
    requirement: "SBX-5",
    title: "a call past its timeout is is_error, timed_out, exit code -1, and its background children are killed too",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const res = await bash(ctx, sandboxId, "(sleep 3; echo leaked > leaked.txt) & sleep 60", { timeoutSeconds: 1 });
        check(res.isError && res.timedOut && res.exitCode === -1, `is_error=${res.isError} timed_out=${res.timedOut} exit_code=${res.exitCode}`);
        await new Promise((r) => setTimeout(r, ctx.scaled(4000)));
        const after = await bash(ctx, sandboxId, "test -e leaked.txt && echo LEAKED || echo CLEAN");
        check(after.output.includes("CLEAN"), "a background child of the timed-out call survived and wrote leaked.txt");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-6/output-cap",
    requirement: "SBX-6",
    title: "output above max_output_bytes is cut, marked and truncated=true",
    timeoutMs: 60_000,
    async run(ctx) {
      const cap = ctx.limits.maxOutputBytes;
      await withSandbox(ctx, async (sandboxId) => {
        const res = await bash(ctx, sandboxId, `head -c ${cap * 3} /dev/zero | tr '\\0' 'x'`);
        check(res.truncated, "truncated must be true");
        const bytes = Buffer.byteLength(res.output);
        check(bytes < cap + 1024 && bytes >= cap / 2, `output of ${bytes} bytes for a cap of ${cap}`);
        check(/[^x]/.test(res.output.slice(-200)), "the output must end with a visible truncation marker");
        const small = await bash(ctx, sandboxId, "echo small");
        check(!small.truncated, "small output must not be truncated");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-7/workspace-confinement",
    requirement: "SBX-7",
    title: "file tools cannot reach outside the workspace through absolute paths, .. or symlinks",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        await bash(ctx, sandboxId, "ln -s / escape-link");
        for (const path of ["/etc/passwd", "../../../../../../etc/passwd", "escape-link/etc/passwd", "/etc/hostname"]) {
          const res = await exec(ctx, sandboxId, "read_file", { path });
          check(res.isError, `read_file ${path} must be is_error`);
        }
        const write = await exec(ctx, sandboxId, "write_file", { path: "../outside.txt", content: "x" });
        check(write.isError, "write_file ../outside.txt must be is_error");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-8/idempotent-execute",
    requirement: "SBX-8",
    title: "Execute with an idempotency key runs once: the repeat is replayed with the recorded output; other input is IDEMPOTENCY_KEY_REUSED",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const key = ctx.uniqueId("tool");
        const command = "echo run >> runs.txt; wc -l < runs.txt";
        const first = await bash(ctx, sandboxId, command, { idempotencyKey: key });
        const again = await bash(ctx, sandboxId, command, { idempotencyKey: key });
        check(!first.replayed && again.replayed, `replayed flags: first ${first.replayed}, repeat ${again.replayed}`);
        checkEqual(again.output, first.output, "output of the repeat");
        const count = await bash(ctx, sandboxId, "wc -l < runs.txt");
        checkEqual(count.output.trim(), "1", "times the command ran");
        await expectFailure(bash(ctx, sandboxId, "echo other", { idempotencyKey: key }), { code: "FAILED_PRECONDITION", reason: "IDEMPOTENCY_KEY_REUSED" }, "the key with another input");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-8/concurrent-repeat-waits",
    requirement: "SBX-8",
    title: "repeats sent while the first call still runs wait for it and return its result; the command runs once",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const key = ctx.uniqueId("tool");
        const command = "echo run >> slow.txt; sleep 1; wc -l < slow.txt";
        // Calls multiplexed on one HTTP/2 connection reach the server together, which is
        // the race this clause is about; HTTP/1.1 clients would spread them out.
        const grpc = ctx.newClient("grpc");
        const calls = await Promise.all(
          Array.from({ length: 6 }, () =>
            grpc.unary(X.execute, { sandboxId, name: "bash", input: { command } as never, idempotencyKey: key }, { timeoutMs: ctx.scaled(30_000) }),
          ),
        );
        checkEqual((await bash(ctx, sandboxId, "wc -l < slow.txt")).output.trim(), "1", "times the command ran for 6 concurrent calls with one key");
        check(calls.every((c) => c.output === calls[0]!.output), "every call must return the same output");
        checkEqual(calls.filter((c) => !c.replayed).length, 1, "calls not marked replayed");
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-9/limits-hold",
    requirement: "SBX-9",
    title: "a memory hog and a fork bomb end as tool errors; the sandbox and server carry on",
    timeoutMs: 90_000,
    async run(ctx) {
      if (defaultBackendIsUnisolated(ctx)) {
        ctx.note("the default backend is the unisolated process backend; limits are not enforced there (SEC-2)");
        return;
      }
      await withSandbox(
        ctx,
        async (sandboxId) => {
          const hog = await bash(ctx, sandboxId, "head -c 400000000 /dev/zero | tail -c 400000000 > /dev/null", { timeoutSeconds: 30 });
          check(hog.isError, `a 400 MB memory hog under a 64 MiB limit must fail, got exit ${hog.exitCode}: ${hog.output.slice(0, 200)}`);
          const bomb = await bash(ctx, sandboxId, "for i in $(seq 1 200); do sleep 5 & done; wait", { timeoutSeconds: 20 });
          check(bomb.isError, "200 processes under a 32-pid limit must fail");
          const after = await bash(ctx, sandboxId, "echo alive");
          check(after.output.includes("alive"), "the sandbox must still run tools");
        },
        { memoryBytes: 64n * 1024n * 1024n, pids: 32 },
      );
    },
  },
  {
    ...core,
    id: "sandbox/SBX-11/unknown-and-destroyed",
    requirement: "SBX-11",
    title: "Execute/GetSandbox of an unknown sandbox, and Execute of a destroyed one, are SANDBOX_NOT_FOUND",
    timeoutMs: 60_000,
    async run(ctx) {
      const missing = `sbx_${randomBytes(16).toString("hex")}`;
      const notFound = { code: "NOT_FOUND", reason: "SANDBOX_NOT_FOUND" } as const;
      await expectFailure(bash(ctx, missing, "true"), notFound, "Execute on an unknown sandbox");
      await expectFailure(ctx.rpc.unary(X.getSandbox, { sandboxId: missing }), notFound, "GetSandbox of an unknown sandbox");
      const sandboxId = await withSandbox(ctx, async (id) => id);
      await expectFailure(bash(ctx, sandboxId, "true"), notFound, "Execute on a destroyed sandbox");
    },
  },
  {
    ...core,
    id: "sandbox/SBX-12/no-network-by-default",
    requirement: "SBX-12",
    title: "a default sandbox cannot open a TCP connection to the server's port",
    timeoutMs: 60_000,
    async run(ctx) {
      if (defaultBackendIsUnisolated(ctx)) {
        ctx.note("the default backend is the unisolated process backend, which has the host's network (SEC-2)");
        return;
      }
      const target = new URL(ctx.targetUrl);
      await withSandbox(ctx, async (sandboxId) => {
        const res = await bash(ctx, sandboxId, connectProbe(target.hostname, Number(target.port || 80)), { timeoutSeconds: 20 });
        check(!res.output.includes("CONNECTED"), `the sandbox reached ${target.host}: ${res.output.slice(0, 300)}`);
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-13/renew-pushes-expiry",
    requirement: "SBX-13",
    title: "RenewSandbox moves expire_time later",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const before = (await ctx.rpc.unary(X.getSandbox, { sandboxId })).sandbox?.expireTime?.seconds ?? 0n;
        const after = (await ctx.rpc.unary(X.renewSandbox, { sandboxId, ttl: { seconds: 3600n } })).sandbox?.expireTime?.seconds ?? 0n;
        check(after > before, `expire_time must move later: ${before} → ${after}`);
      });
    },
  },
  {
    ...core,
    id: "sandbox/SBX-14/destroy-idempotent",
    requirement: "SBX-14",
    title: "destroying a destroyed sandbox succeeds",
    timeoutMs: 60_000,
    async run(ctx) {
      const sandboxId = await withSandbox(ctx, async (id) => id);
      await ctx.rpc.unary(X.destroySandbox, { sandboxId });
      await ctx.rpc.unary(X.destroySandbox, { sandboxId });
    },
  },
];

/** A shell probe that prints CONNECTED if any available client reaches host:port. */
export function connectProbe(host: string, port: number): string {
  return [
    `(exec 3<>/dev/tcp/${host}/${port}) 2>/dev/null && echo CONNECTED-bash`,
    `command -v python3 >/dev/null && python3 -c "import socket; socket.create_connection(('${host}', ${port}), 3); print('CONNECTED-python')" 2>/dev/null`,
    `command -v nc >/dev/null && nc -z -w 3 ${host} ${port} 2>/dev/null && echo CONNECTED-nc`,
    `command -v curl >/dev/null && curl -s -m 3 -o /dev/null http://${host}:${port}/ 2>/dev/null && echo CONNECTED-curl`,
    "true",
  ].join("; ");
}
