// Broken variants of the sandbox service.
import { create } from "@bufbuild/protobuf";
import { SandboxResourcesSchema } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { OmaError } from "../../server/src/errors/oma-error.js";
import { call, patch, restream, type BrokenVariant } from "./variant-kit.js";

/** Defects in provisioning, tools, bounds and lifecycle. */
export const sandboxVariants: readonly BrokenVariant[] = [
  {
    name: "ListSandboxes accepts negative page sizes and forged tokens",
    breaks: ["WIRE-4"],
    profile: ["WIRE-4"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "listSandboxes", (orig) => async (req: never, ctx: never) => {
        const r = req as { pageSize: number };
        try {
          return await orig({ ...r, pageSize: Math.max(0, r.pageSize) }, ctx);
        } catch {
          return { sandboxes: [], nextPageToken: "" };
        }
      }),
  },
  {
    name: "ListSandboxes page tokens are unsigned (the last sandbox id in base64url)",
    breaks: ["WIRE-4"],
    profile: ["wire/WIRE-4/sandbox-paging"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "listSandboxes", (orig) => async (req: never, ctx: never) => {
        const r = req as { pageSize: number; pageToken: string; sessionId: string };
        if (r.pageSize < 0) return orig(req, ctx);
        const size = r.pageSize === 0 ? 50 : r.pageSize;
        const all = ((await orig({ ...r, pageSize: 1000, pageToken: "" }, ctx)) as { sandboxes: { sandboxId: string }[] }).sandboxes;
        let start = 0;
        if (r.pageToken) {
          const after = Buffer.from(r.pageToken, "base64url").toString();
          start = all.findIndex((s) => `sbx:${s.sandboxId}` === after) + 1 || all.length;
        }
        const page = all.slice(start, start + size);
        return { sandboxes: page, nextPageToken: start + size < all.length ? Buffer.from(`sbx:${page.at(-1)!.sandboxId}`).toString("base64url") : "" };
      }),
  },
  {
    name: "runs a re-sent tool call again",
    breaks: ["SBX-8"],
    profile: ["SBX-8"],
    needsSandbox: true,
    sandbox: (real) => patch(real, "execute", (orig) => (req: never, ctx: never) => orig({ ...(req as object), idempotencyKey: "" }, ctx)),
  },
  {
    name: "turns a failed tool into an RPC error",
    breaks: ["SBX-4"],
    profile: ["SBX-4"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { isError: boolean };
        if (res.isError) throw new OmaError("INTERNAL", "tool failed");
        return res;
      }),
  },
  {
    name: "does not report a timeout",
    breaks: ["SBX-5"],
    profile: ["SBX-5"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => ({ ...((await orig(req, ctx)) as object), timedOut: false })),
  },
  {
    name: "clears the truncated flag",
    breaks: ["SBX-6"],
    profile: ["SBX-6"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => ({ ...((await orig(req, ctx)) as object), truncated: false })),
  },
  {
    name: "read_file follows any path (cat through bash)",
    breaks: ["SBX-7"],
    profile: ["SBX-7"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => (req: never, ctx: never) => {
        const r = req as { name: string; input?: { path?: string } };
        if (r.name !== "read_file") return orig(req, ctx);
        return orig({ ...r, name: "bash", input: { command: `cat '${r.input?.path ?? ""}'` } }, ctx);
      }),
  },
  {
    name: "ignores memory and pids limits",
    breaks: ["SBX-9", "SEC-17"],
    profile: ["SBX-9", "SEC-17"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), memoryBytes: 0n, pids: 0 } }, ctx);
      }),
  },
  {
    name: "ignores disk_bytes (every workspace gets the default 1 GiB)",
    breaks: ["SBX-16"],
    profile: ["SBX-16"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), diskBytes: 0n } }, ctx);
      }),
  },
  {
    name: "runs every sandbox on the unisolated process backend while it offers bubblewrap",
    breaks: ["SEC-17"],
    profile: ["SEC-17"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), backend: "process" } }, ctx);
      }),
  },
  {
    name: "answers an unknown sandbox with INTERNAL",
    breaks: ["SBX-11"],
    profile: ["SBX-11"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (err instanceof OmaError && err.reason === "SANDBOX_NOT_FOUND") throw new Error("lookup failed");
          throw err;
        }
      }),
  },
  {
    name: "gives every sandbox full network access",
    breaks: ["SBX-12", "SEC-2"],
    profile: ["SBX-12", "SEC-2"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), network: { mode: 3 } } }, ctx);
      }),
  },
  {
    name: "RenewSandbox does not move the expiry",
    breaks: ["SBX-13"],
    profile: ["SBX-13"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "renewSandbox", () => (req: never, ctx: never) => call(real, "getSandbox", { sandboxId: (req as { sandboxId: string }).sandboxId }, ctx)),
  },
  {
    name: "reports a sandbox lost in a restart as READY",
    breaks: ["SBX-15"],
    profile: ["SBX-15"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "getSandbox", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { sandbox: { state: number } };
        return res.sandbox.state === 3 ? { sandbox: { ...res.sandbox, state: 2 } } : res;
      }),
  },
  {
    name: "destroying a destroyed sandbox fails",
    breaks: ["SBX-14"],
    profile: ["SBX-14"],
    needsSandbox: true,
    sandbox: (real) => {
      const destroyed = new Set<string>();
      return patch(real, "destroySandbox", (orig) => async (req: never, ctx: never) => {
        const id = (req as { sandboxId: string }).sandboxId;
        if (destroyed.has(id)) throw new OmaError("SANDBOX_NOT_FOUND", "gone", { sandbox_id: id });
        destroyed.add(id);
        return orig(req, ctx);
      });
    },
  },
  {
    name: "ListTools forgets grep",
    breaks: ["SBX-2"],
    profile: ["SBX-2"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "listTools", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { tools: { name: string }[] };
        return { ...res, tools: res.tools.filter((t) => t.name !== "grep") };
      }),
  },
  {
    name: "runs unknown tools as bash and accepts any input",
    breaks: ["SBX-3"],
    profile: ["SBX-3"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || !["TOOL_NOT_FOUND", "INVALID_TOOL_INPUT"].includes(err.reason)) throw err;
          return { output: "", isError: true, exitCode: 1 };
        }
      }),
  },
  {
    name: "accepts out-of-range resources by falling back to defaults",
    breaks: ["SBX-1"],
    profile: ["SBX-1"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "INVALID_FIELD") throw err;
          return orig({ ...(req as object), resources: create(SandboxResourcesSchema) }, ctx);
        }
      }),
  },
  {
    name: "drops a chunk of a resumed ExecuteStream",
    breaks: ["SBX-10"],
    profile: ["SBX-10"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "executeStream", (orig) => (req: never, ctx: never) => {
        const resumed = (req as { resumeOffset: bigint }).resumeOffset > 0n;
        let dropped = false;
        return restream(orig(req, ctx) as AsyncIterable<{ message: { case: string } }>, (msg, out) => {
          if (resumed && !dropped && msg.message.case === "chunk") dropped = true;
          else out.push(msg);
        });
      }),
  },
  {
    // Only the battery's grep of the filesystem finds it: the environment stays clean.
    name: "leaves the server's secret in a file the sandbox can read",
    breaks: ["SEC-1", "SEC-2"],
    profile: ["security"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { sandbox: { sandboxId: string } };
        const content = `OMA_CONFORMANCE_SECRET=${process.env["OMA_CONFORMANCE_SECRET"] ?? ""}\n`;
        await call(real, "execute", { sandboxId: res.sandbox.sandboxId, name: "write_file", input: { path: ".config/server.env", content } }, ctx);
        return res;
      }),
  },
  {
    // A search cut off at its timeout proves nothing: the battery must not take it for an attempt that failed.
    name: "kills the battery's filesystem search at its timeout",
    breaks: ["SEC-1", "SEC-2"],
    profile: ["security"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => (req: never, ctx: never) => {
        const command = String((req as { input?: { command?: unknown } }).input?.command ?? "");
        if (!command.includes("grep -rIlF")) return orig(req, ctx);
        return { output: "", isError: true, exitCode: -1, truncated: false, replayed: false, timedOut: true };
      }),
  },
  {
    name: "leaks the server's environment into the sandbox",
    breaks: ["SEC-1", "SEC-2"],
    profile: ["security"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: { env?: Record<string, string> } };
        const leaked = { LEAKED_SECRET: process.env["OMA_CONFORMANCE_SECRET"] ?? "" };
        return orig({ ...r, resources: { ...(r.resources ?? {}), env: { ...(r.resources?.env ?? {}), ...leaked } } }, ctx);
      }),
  },
];
