// Two servers of one system (`--target A --target B`): a sandbox made through one is served
// through the other (SPEC SBX-17).
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { tenantClient } from "../vault/vault-helpers.js";
import { X } from "../sandbox/sandbox-helpers.js";

const notFound = { code: "NOT_FOUND", reason: "SANDBOX_NOT_FOUND" } as const;

export const crossServerSandboxCases: ConformanceCase[] = [
  {
    level: "MUST",
    needs: ["two-targets"],
    feature: "sandbox.core",
    id: "cross-server/SBX-17/sandbox-calls-across-servers",
    requirement: "SBX-17",
    title: "a sandbox provisioned through one server is executed, read, renewed and destroyed through the other, with the same answers and errors; another tenant reaches it through neither",
    timeoutMs: 60_000,
    async run(ctx) {
      check(ctx.other, "the case needs a second target");
      const b = ctx.other.rpc;
      const t = { timeoutMs: ctx.scaled(60_000) };
      const sandboxId = (await ctx.rpc.unary(X.provision, { resources: {}, labels: { "conf.case": "1" } }, t)).sandbox?.sandboxId ?? "";
      check(sandboxId !== "", "Provision returned no sandbox id");
      try {
        const ran = await b.unary(X.execute, { sandboxId, name: "bash", input: { command: "echo across > across.txt && echo done" } }, t);
        checkDeepEqual([ran.output.trim(), ran.isError], ["done", false], "bash through B in a sandbox made through A");
        for (const [name, via] of [["A", ctx.rpc], ["B", b]] as const) {
          const read = await via.unary(X.execute, { sandboxId, name: "read_file", input: { path: "across.txt" } }, t);
          check(read.output.includes("across") && !read.isError, `read_file through ${name} of the file written through B: ${read.output}`);
        }
        const got = await b.unary(X.getSandbox, { sandboxId }, t);
        checkEqual(got.sandbox?.sandboxId, sandboxId, "GetSandbox through B");
        await b.unary(X.renewSandbox, { sandboxId }, t);
        await expectFailure(b.unary(X.execute, { sandboxId, name: "no_such_tool", input: {} }, t), { code: "NOT_FOUND", reason: "TOOL_NOT_FOUND" }, "an unknown tool through B");
        // Another tenant, through either server: as a missing sandbox; its destroy changes nothing.
        const stranger = await tenantClient(ctx);
        const strangerOnB = ctx.other.newClient(undefined, stranger.token);
        await expectFailure(strangerOnB.unary(X.getSandbox, { sandboxId }, t), notFound, "GetSandbox through B by another tenant");
        await expectFailure(strangerOnB.unary(X.execute, { sandboxId, name: "bash", input: { command: "true" } }, t), notFound, "Execute through B by another tenant");
        await strangerOnB.unary(X.destroySandbox, { sandboxId }, t);
        checkEqual((await ctx.rpc.unary(X.getSandbox, { sandboxId }, t)).sandbox?.sandboxId, sandboxId, "the sandbox after another tenant's DestroySandbox through B");
        await b.unary(X.destroySandbox, { sandboxId }, t);
        await expectFailure(ctx.rpc.unary(X.getSandbox, { sandboxId }, t), notFound, "GetSandbox through A after DestroySandbox through B");
        await expectFailure(b.unary(X.execute, { sandboxId, name: "bash", input: { command: "true" } }, t), notFound, "Execute through B after DestroySandbox through B");
      } finally {
        await ctx.rpc.unary(X.destroySandbox, { sandboxId }, t).catch(() => undefined);
      }
    },
  },
];
