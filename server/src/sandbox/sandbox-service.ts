import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import { OutputStream, ToolDescriptionSchema, type Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { ExecuteResponseSchema, type SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { accessOf } from "../auth/principal.js";
import type { Handlers } from "../rpc/handlers.js";
import type { Paging } from "../rpc/paging.js";
import type { ExecResult } from "./execution.js";
import { sandboxBounds, type SandboxManager } from "./sandbox-manager.js";
import { TOOLS } from "./tools.js";

/**
 * A sandbox's place in ListSandboxes: its creation time in microseconds as zero-padded hex,
 * then its id. The listing is in descending position (newest first), and a page continues
 * below the last position it returned, so a sandbox destroyed meanwhile never derails it.
 */
function listPosition(sandbox: Sandbox): string {
  const micros = Number(sandbox.createTime?.seconds ?? 0n) * 1e6 + Math.floor((sandbox.createTime?.nanos ?? 0) / 1000);
  return `${micros.toString(16).padStart(14, "0")}!${sandbox.sandboxId}`;
}

/** SandboxService: translates the wire to the SandboxManager and back. */
export function createSandboxService(manager: SandboxManager, paging: Paging): Handlers<typeof SandboxService> {
  const tools = TOOLS.map((t) => create(ToolDescriptionSchema, { name: t.name, description: t.description, inputSchema: t.inputSchema as JsonObject }));
  return {
    async provision(req, call) {
      return { sandbox: await manager.provision(accessOf(call.principal), req.resources, req.labels, req.sessionId) };
    },
    async execute(req, call) {
      const r = await manager.execute(accessOf(call.principal), req.sandboxId, req.name, req.input ?? {}, timeoutOf(req.timeout), req.idempotencyKey, call.signal, call.trace);
      return response(r, r.replayed);
    },
    async *executeStream(req, call) {
      for await (const event of manager.executeStream(accessOf(call.principal), req.sandboxId, req.name, req.input ?? {}, timeoutOf(req.timeout), req.idempotencyKey, Number(req.resumeOffset), call.signal, call.trace)) {
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
    getSandbox(req, call) {
      return { sandbox: manager.get(accessOf(call.principal), req.sandboxId) };
    },
    listSandboxes(req, call) {
      const access = accessOf(call.principal);
      // Bound to the tenant too: a page token of one tenant opens no listing of another.
      const query = { list: "ListSandboxes", tenant: access.tenant, session_id: req.sessionId };
      const { size, cursor } = paging.open(req, query);
      const rest = manager
        .list(access, req.sessionId)
        .map((sandbox) => ({ sandbox, position: listPosition(sandbox) }))
        .filter((s) => cursor === undefined || s.position < cursor)
        .sort((a, b) => (a.position < b.position ? 1 : a.position > b.position ? -1 : 0));
      const page = rest.slice(0, size);
      return { sandboxes: page.map((s) => s.sandbox), nextPageToken: paging.next(rest.length > size ? page.at(-1)?.position : undefined, query) };
    },
    async destroySandbox(req, call) {
      await manager.destroy(accessOf(call.principal), req.sandboxId);
      return {};
    },
    async renewSandbox(req, call) {
      return { sandbox: await manager.renew(accessOf(call.principal), req.sandboxId, req.ttl ? durationMs(req.ttl) : undefined) };
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
