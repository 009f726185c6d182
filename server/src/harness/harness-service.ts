import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { HarnessSchema, type HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { ANY_TENANT } from "../auth/principal.js";
import type { SessionTokens } from "../auth/session-token.js";
import { invalidField } from "../errors/oma-error.js";
import { labelsWithin, optionalId, requireId } from "../rpc/field-rules.js";
import type { Handlers, Validators } from "../rpc/handlers.js";
import type { Paging } from "../rpc/paging.js";
import type { HarnessDispatcher, HarnessRecord } from "./dispatcher.js";
import { durationFromMs } from "./duration.js";
import { toInt64 } from "./int64.js";

/** ConnectWorkerRequest.labels: at most 32, each key and value at most 256 bytes. */
export const MAX_WORKER_LABELS = 32;

/** The rules of every HarnessService request (HARN-16, WIRE-8). */
export function harnessValidators(maxWorkerCapacity: number): Validators<typeof HarnessService> {
  return {
    wake: (req) => void requireId(req.sessionId, "session_id"),
    listHarnesses: (req) => void optionalId(req.sessionId, "session_id"),
    connectWorker(req) {
      requireId(req.workerId, "worker_id");
      if (req.capacity < 0 || req.capacity > maxWorkerCapacity) {
        throw invalidField("capacity", "range", `must be from 0 to ${maxWorkerCapacity}`, { maximum: maxWorkerCapacity });
      }
      labelsWithin(req.labels, MAX_WORKER_LABELS, 256, "labels");
    },
  };
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
      const result = await dispatcher.wake({ tenant: call.principal.tenant, sessionId: req.sessionId }, call.trace);
      return { harnessId: result.harnessId, leaseEpoch: toInt64(result.leaseEpoch), alreadyRunning: result.alreadyRunning };
    },

    async listHarnesses(req, call) {
      const tenant = call.principal.tenant;
      // Bound to the tenant too: a page token of one tenant opens no listing of another.
      const query = { list: "ListHarnesses", tenant, session_id: req.sessionId };
      const { size, cursor } = paging.open(req, query);
      // In harness id order; a page continues after the last id it returned.
      const rest = await dispatcher.listLive({ tenant, sessionId: req.sessionId || undefined, after: cursor, limit: size + 1 });
      const page = rest.slice(0, size);
      return { harnesses: page.map(toHarness), nextPageToken: paging.next(rest.length > size ? page.at(-1)?.harnessId : undefined, query) };
    },

    async *connectWorker(req, call) {
      const workerId = req.workerId;
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
                leaseTtl: durationFromMs(message.leaseTtlMs),
                sessionToken,
                traceContext: { ...r.traceContext },
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
