import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { HarnessSchema, type HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import type { HarnessDispatcher, HarnessRecord } from "./dispatcher.js";
import { ID_PATTERN } from "./harness-options.js";
import { toInt64 } from "./int64.js";

/** AIP-158 page sizes (WIRE-4). */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

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

/** Page tokens are bound to the query they were issued for (WIRE-4). */
function encodeToken(afterHarnessId: string, sessionId: string): string {
  return Buffer.from(JSON.stringify({ a: afterHarnessId, s: sessionId })).toString("base64url");
}

function decodeToken(token: string, sessionId: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { a?: unknown; s?: unknown };
    if (typeof parsed.a === "string" && parsed.s === sessionId) return parsed.a;
  } catch {
    // falls through to the error below
  }
  throw new OmaError("INVALID_PAGE_TOKEN", "page_token was not issued for this query", { field: "page_token" });
}

/** HarnessService at the edge: validates requests and translates the dispatcher's records. */
export function createHarnessService(dispatcher: HarnessDispatcher): ServiceImpl<typeof HarnessService> {
  return {
    async wake(req) {
      const result = await dispatcher.wake(requireId("session_id", req.sessionId));
      return { harnessId: result.harnessId, leaseEpoch: toInt64(result.leaseEpoch), alreadyRunning: result.alreadyRunning };
    },

    listHarnesses(req) {
      if (req.pageSize < 0) throw invalidField("page_size", "minimum", "must not be negative");
      if (req.sessionId) requireId("session_id", req.sessionId);
      const size = req.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(req.pageSize, MAX_PAGE_SIZE);
      const after = req.pageToken ? decodeToken(req.pageToken, req.sessionId) : "";
      const all = dispatcher.list({ sessionId: req.sessionId || undefined }).filter((h) => h.harnessId > after);
      const page = all.slice(0, size);
      const last = page[page.length - 1];
      return {
        harnesses: page.map(toHarness),
        nextPageToken: all.length > size && last ? encodeToken(last.harnessId, req.sessionId) : "",
      };
    },

    async *connectWorker(req, ctx) {
      const workerId = requireId("worker_id", req.workerId);
      const max = dispatcher.options.maxWorkerCapacity;
      if (req.capacity < 0 || req.capacity > max) {
        throw invalidField("capacity", "range", `must be from 0 to ${max}`, { maximum: max });
      }
      const worker = { workerId, capacity: req.capacity === 0 ? 1 : req.capacity, labels: { ...req.labels } };
      for await (const message of dispatcher.connectWorker(worker, ctx.signal)) {
        if (message.kind === "assignment") {
          const r = message.record;
          yield {
            message: {
              case: "assignment",
              value: {
                harnessId: r.harnessId,
                sessionId: r.sessionId,
                leaseEpoch: toInt64(r.epoch),
                leaseExpireTime: timestampFromMs(r.expireTime),
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
