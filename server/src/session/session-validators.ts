import { EventOrder, type SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { invalidField } from "../errors/oma-error.js";
import type { ServerLimits } from "../limits.js";
import {
  knownEnum, leaseTtlMs, nonNegative, optionalId, optionalIdempotencyKey, positive, requireId, validateHolder, validateLabels,
} from "../rpc/field-rules.js";
import { pageSize } from "../rpc/paging.js";
import type { Validators } from "../rpc/handlers.js";
import { validateAgent, type AgentRules } from "./validate-agent.js";

/** GetEvents limit when the request leaves it 0 (SESS-11). */
export const DEFAULT_EVENTS_LIMIT = 100;

/** The rules of every SessionService request (SESS-*, WIRE-5, WIRE-8). */
export function sessionValidators(deps: { limits: ServerLimits; agent: AgentRules }): Validators<typeof SessionService> {
  const { limits } = deps;
  const seq = (value: bigint | undefined, field: string) => value === undefined || nonNegative(value, field);
  const append = (req: { sessionId: string; idempotencyKey: string; expectedHeadSeq?: bigint; leaseEpoch?: bigint }) => {
    requireId(req.sessionId, "session_id");
    optionalIdempotencyKey(req.idempotencyKey);
    seq(req.expectedHeadSeq, "expected_head_seq");
    if (req.leaseEpoch !== undefined) positive(req.leaseEpoch, "lease_epoch");
  };
  // The events themselves are checked by the handler (validateEvents, session-service.ts),
  // after these rules: the check's encoding of each event is what the log stores.
  const batch = (req: { sessionId: string; idempotencyKey: string; expectedHeadSeq?: bigint; leaseEpoch?: bigint; events: readonly Event[] }) => {
    append(req);
    if (req.events.length === 0) throw invalidField("events", "required", "a batch needs at least one event");
  };
  return {
    createSession(req) {
      optionalId(req.sessionId, "session_id");
      validateLabels(req.labels, "labels");
      validateAgent(req.agent, deps.agent);
    },
    getSession: (req) => void requireId(req.sessionId, "session_id"),
    deleteSession: (req) => void requireId(req.sessionId, "session_id"),
    listSessions(req) {
      knownEnum(req.status, SessionStatus, "status");
      validateLabels(req.labels, "labels");
    },
    emitEvent: append,
    emitEvents: batch,
    appendEvents: batch,
    getEvents(req) {
      requireId(req.sessionId, "session_id");
      const afterSeq = nonNegative(req.afterSeq, "after_seq");
      const beforeSeq = nonNegative(req.beforeSeq, "before_seq");
      if (beforeSeq !== 0 && beforeSeq <= afterSeq) {
        throw invalidField("before_seq", "after_after_seq", "must be greater than after_seq", { after_seq: afterSeq, before_seq: beforeSeq });
      }
      pageSize(req.limit, "limit", DEFAULT_EVENTS_LIMIT, limits.maxPageSize);
      knownEnum(req.order, EventOrder, "order");
    },
    watchEvents(req) {
      requireId(req.sessionId, "session_id");
      nonNegative(req.afterSeq, "after_seq");
    },
    acquireLease(req) {
      requireId(req.sessionId, "session_id");
      validateHolder(req.holder);
      leaseTtlMs(req.ttl);
    },
    renewLease(req) {
      requireId(req.sessionId, "session_id");
      positive(req.epoch, "epoch");
      leaseTtlMs(req.ttl);
    },
    releaseLease(req) {
      requireId(req.sessionId, "session_id");
      positive(req.epoch, "epoch");
    },
  };
}
