import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { HarnessSchema, type HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { ANY_TENANT } from "../auth/principal.js";
import type { SessionTokens } from "../auth/session-token.js";
import { invalidField } from "../errors/oma-error.js";
import type { Handlers } from "../rpc/handlers.js";
import type { Paging } from "../rpc/paging.js";
import type { HarnessDispatcher, HarnessRecord } from "./dispatcher.js";
import { ID_PATTERN } from "./harness-options.js";
import { toInt64 } from "./int64.js";

function requireId(field: string, value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw invalidField(field, "pattern", "must be 1-128 characters of [A-Za-z0-9._-], not starting with '.' or '-'");
  }
  return value;
}

function toHarness(record: HarnessRecord) {
  return create(HarnessSchema, {
    harnessId: record.harnessId,
    sessionId: record.sessionId,
    workerId: record.workerId ?? "",
    leaseEpoch: toInt64(record.epoch),
    startTime: timestampFromMs(record.startTime),
    expireTime: timestampFromMs(record.expireTime),
  });
}

export interface HarnessServiceDeps {
  readonly dispatcher: HarnessDispatcher;
  readonly paging: Paging;
  /** Issues the session token of each assignment; undefined when calls are not authenticated. */
  readonly sessionTokens?: SessionTokens;
  /** How long a session token outlives the lease it was issued with (SEC-4). */
  readonly sessionTokenGraceMs: number;
}

/** HarnessService at the edge: validates requests and translates the dispatcher's records. */
export function createHarnessService(deps: HarnessServiceDeps): Handlers<typeof HarnessService> {
  const { dispatcher, paging } = deps;
  return {
    async wake(req, call) {
      const result = await dispatcher.wake({ tenant: call.principal.tenant, sessionId: requireId("session_id", req.sessionId) });
      return { harnessId: result.harnessId, leaseEpoch: toInt64(result.leaseEpoch), alreadyRunning: result.alreadyRunning };
    },

    listHarnesses(req, call) {
      if (req.sessionId) requireId("session_id", req.sessionId);
      const tenant = call.principal.tenant;
      // Bound to the tenant too: a page token of one tenant opens no listing of another.
      const query = { list: "ListHarnesses", tenant, session_id: req.sessionId };
      const { size, cursor } = paging.open(req, query);
      // In harness id order; a page continues after the last id it returned.
      const rest = dispatcher.list({ tenant, sessionId: req.sessionId || undefined }).filter((h) => cursor === undefined || h.harnessId > cursor);
      const page = rest.slice(0, size);
      return { harnesses: page.map(toHarness), nextPageToken: paging.next(rest.length > size ? page.at(-1)?.harnessId : undefined, query) };
    },

    async *connectWorker(req, call) {
      const workerId = requireId("worker_id", req.workerId);
      const max = dispatcher.options.maxWorkerCapacity;
      if (req.capacity < 0 || req.capacity > max) {
        throw invalidField("capacity", "range", `must be from 0 to ${max}`, { maximum: max });
      }
      // A worker serves its token's tenant; a pool token ("*") and an admin serve every tenant.
      const tenant = call.principal.role === "admin" ? ANY_TENANT : call.principal.tenant;
      const worker = { tenant, workerId, capacity: req.capacity === 0 ? 1 : req.capacity, labels: { ...req.labels } };
      for await (const message of dispatcher.connectWorker(worker, call.signal)) {
        if (message.kind === "assignment") {
          const r = message.record;
          const sessionToken =
            deps.sessionTokens?.issue({
              tenant: r.tenant,
              sessionId: r.sessionId,
              harnessId: r.harnessId,
              parentTokenId: call.principal.tokenId,
              expireMs: r.expireTime + deps.sessionTokenGraceMs,
            }) ?? "";
          yield {
            message: {
              case: "assignment",
              value: {
                harnessId: r.harnessId,
                sessionId: r.sessionId,
                leaseEpoch: toInt64(r.epoch),
                leaseExpireTime: timestampFromMs(r.expireTime),
                sessionToken,
              },
            },
          };
        } else {
          yield { message: { case: "heartbeat", value: { assigned: message.assigned } } };
        }
      }
    },
  };
}
