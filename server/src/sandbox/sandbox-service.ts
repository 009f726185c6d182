import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { OutputStream, ToolDescriptionSchema } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { ExecuteResponseSchema, type SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { ExecResult } from "./execution.js";
import { sandboxBounds, type SandboxManager } from "./sandbox-manager.js";
import { TOOLS } from "./tools.js";

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/** SandboxService: translates the wire to the SandboxManager and back. */
export function createSandboxService(manager: SandboxManager): ServiceImpl<typeof SandboxService> {
  const tools = TOOLS.map((t) => create(ToolDescriptionSchema, { name: t.name, description: t.description, inputSchema: t.inputSchema as JsonObject }));
  return {
    async provision(req) {
      return { sandbox: await manager.provision(req.resources, req.labels, req.sessionId) };
    },
    async execute(req, ctx) {
      const r = await manager.execute(req.sandboxId, req.name, req.input ?? {}, timeoutOf(req.timeout), req.idempotencyKey, ctx.signal);
      return response(r, r.replayed);
    },
    async *executeStream(req, ctx) {
      for await (const event of manager.executeStream(req.sandboxId, req.name, req.input ?? {}, timeoutOf(req.timeout), req.idempotencyKey, Number(req.resumeOffset), ctx.signal)) {
        if ("chunk" in event) {
          const c = event.chunk;
          yield { message: { case: "chunk", value: { stream: c.stream === 2 ? OutputStream.STDERR : OutputStream.STDOUT, data: c.data, offset: BigInt(c.offset) } } };
        } else {
          yield { message: { case: "result", value: response(event.result, event.replayed === true) } };
        }
      }
    },
    listTools() {
      return { tools };
    },
    getSandbox(req) {
      return { sandbox: manager.get(req.sandboxId) };
    },
    listSandboxes(req) {
      if (req.pageSize < 0) throw invalidField("page_size", "range", "must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE, MAX_PAGE);
      const all = manager
        .list(req.sessionId)
        .sort((a, b) => Number(b.createTime?.seconds ?? 0n) - Number(a.createTime?.seconds ?? 0n) || (b.createTime?.nanos ?? 0) - (a.createTime?.nanos ?? 0) || a.sandboxId.localeCompare(b.sandboxId));
      let start = 0;
      if (req.pageToken) {
        const after = decodeToken(req.pageToken);
        start = all.findIndex((s) => s.sandboxId === after) + 1;
        if (start === 0) start = all.length; // That sandbox is gone; the listing moved past it.
      }
      const page = all.slice(start, start + size);
      const last = page[page.length - 1];
      return { sandboxes: page, nextPageToken: start + size < all.length && last ? Buffer.from(`sbx:${last.sandboxId}`).toString("base64url") : "" };
    },
    async destroySandbox(req) {
      await manager.destroy(req.sandboxId);
      return {};
    },
    async renewSandbox(req) {
      return { sandbox: await manager.renew(req.sandboxId, req.ttl ? durationMs(req.ttl) : undefined) };
    },
  };
}

function timeoutOf(d: Duration | undefined): number {
  return d ? durationMs(d) : sandboxBounds.defaultTimeoutMs;
}

function response(r: ExecResult, replayed: boolean) {
  return create(ExecuteResponseSchema, {
    output: r.output,
    isError: r.isError,
    exitCode: r.exitCode,
    truncated: r.truncated,
    duration: durationFromMs(Math.round(r.durationMs)),
    replayed,
    timedOut: r.timedOut,
  });
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("sbx:")) throw new OmaError("INVALID_PAGE_TOKEN", "not a page token of ListSandboxes", { field: "page_token" });
  return text.slice(4);
}
