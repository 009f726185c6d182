import { EventOrder, type SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { invalidField } from "../errors/oma-error.js";
import type { SessionTokens } from "../auth/session-token.js";
import type { ServerLimits } from "../limits.js";
import type { Call, Handlers } from "../rpc/handlers.js";
import { newId } from "../store/ids.js";
import type { SessionRef, SessionStore } from "../store/session-store.js";
import { pageSize, type Paging } from "../rpc/paging.js";
import { validateAgent } from "./validate-agent.js";
import { validateEvents } from "./validate-events.js";
import {
  knownEnum, leaseTtlMs, nonNegative, optionalIdempotencyKey, positive, requireId, validateHolder, validateLabels,
} from "./validate-request.js";
import { watchEvents } from "./watch-events.js";

export interface SessionServiceDeps {
  readonly store: SessionStore;
  readonly limits: ServerLimits;
  readonly paging: Paging;
  /** Watch heartbeat interval (SESS-13). */
  readonly heartbeatMs: number;
  /** Renews the session tokens of brains (RenewLease); undefined when calls are not authenticated. */
  readonly sessionTokens?: SessionTokens;
}

/** GetEvents limit when the request leaves it 0 (SESS-11). */
export const DEFAULT_EVENTS_LIMIT = 100;

/**
 * SessionService: checks every request field, then hands the domain operation to the
 * store. All rules of the log itself live in the store; this edge only translates.
 */
export function createSessionService(deps: SessionServiceDeps): Handlers<typeof SessionService> {
  const { store, limits } = deps;
  const optionalSeq = (value: bigint | undefined, field: string) => (value === undefined ? undefined : nonNegative(value, field));
  const optionalEpoch = (value: bigint | undefined) => (value === undefined ? undefined : positive(value, "lease_epoch"));
  /** The session a request names, in the caller's tenant (SEC-10): another tenant's does not exist for it. */
  const refOf = (sessionId: string, call: Call): SessionRef => ({ tenant: call.principal.tenant, sessionId: requireId(sessionId, "session_id") });

  return {
    async createSession(req, call) {
      const sessionId = req.sessionId === "" ? newId("ses") : requireId(req.sessionId, "session_id");
      validateLabels(req.labels, "labels");
      const agent = validateAgent(req.agent);
      return { session: await store.createSession({ tenant: call.principal.tenant, sessionId, labels: req.labels, agent }) };
    },

    async getSession(req, call) {
      return { session: await store.getSession(refOf(req.sessionId, call)) };
    },

    async listSessions(req, call) {
      const status = knownEnum(req.status, SessionStatus, "status");
      validateLabels(req.labels, "labels");
      const tenant = call.principal.tenant;
      // Bound to the tenant too: a page token of one tenant opens no listing of another.
      const query = { list: "ListSessions", tenant, status, labels: req.labels };
      const { size, cursor } = deps.paging.open(req, query);
      const page = await store.listSessions({ tenant, pageSize: size, cursor, status, labels: req.labels });
      return { sessions: page.sessions, nextPageToken: deps.paging.next(page.nextCursor, query) };
    },

    async deleteSession(req, call) {
      await store.deleteSession(refOf(req.sessionId, call));
      return {};
    },

    async emitEvent(req, call) {
      const ref = refOf(req.sessionId, call);
      const events = validateEvents([req.event], limits, () => "event");
      const result = await store.append(ref, events, {
        idempotencyKey: optionalIdempotencyKey(req.idempotencyKey),
        expectedHeadSeq: optionalSeq(req.expectedHeadSeq, "expected_head_seq"),
        leaseEpoch: optionalEpoch(req.leaseEpoch),
      });
      return { event: result.events[0], duplicate: result.duplicate };
    },

    async emitEvents(req, call) {
      const ref = refOf(req.sessionId, call);
      if (req.events.length === 0) throw invalidField("events", "required", "a batch needs at least one event");
      const events = validateEvents(req.events, limits, (i) => `events[${i}]`);
      const result = await store.append(ref, events, {
        idempotencyKey: optionalIdempotencyKey(req.idempotencyKey),
        expectedHeadSeq: optionalSeq(req.expectedHeadSeq, "expected_head_seq"),
        leaseEpoch: optionalEpoch(req.leaseEpoch),
      });
      return { events: result.events, duplicate: result.duplicate };
    },

    async getEvents(req, call) {
      const ref = refOf(req.sessionId, call);
      const afterSeq = nonNegative(req.afterSeq, "after_seq");
      const beforeSeq = nonNegative(req.beforeSeq, "before_seq");
      if (beforeSeq !== 0 && beforeSeq <= afterSeq) {
        throw invalidField("before_seq", "after_after_seq", "must be greater than after_seq", { after_seq: afterSeq, before_seq: beforeSeq });
      }
      const limit = pageSize(req.limit, "limit", DEFAULT_EVENTS_LIMIT, limits.maxPageSize);
      const order = knownEnum(req.order, EventOrder, "order") === EventOrder.DESCENDING ? "desc" : "asc";
      const slice = await store.readEvents(ref, { afterSeq, beforeSeq, limit, order });
      return { events: slice.events, headSeq: BigInt(slice.headSeq) };
    },

    async *watchEvents(req, call) {
      const ref = refOf(req.sessionId, call);
      const afterSeq = nonNegative(req.afterSeq, "after_seq");
      yield* watchEvents(store, { ref, afterSeq, maxLagEvents: limits.maxWatchLagEvents, heartbeatMs: deps.heartbeatMs, signal: call.signal });
    },

    async acquireLease(req, call) {
      const ref = refOf(req.sessionId, call);
      const holder = validateHolder(req.holder);
      return { lease: await store.acquireLease(ref, holder, leaseTtlMs(req.ttl)) };
    },

    async renewLease(req, call) {
      const ref = refOf(req.sessionId, call);
      const epoch = positive(req.epoch, "epoch");
      const lease = await store.renewLease(ref, epoch, leaseTtlMs(req.ttl));
      // A brain's session token lives as long as its lease (plus the grace): renewing one renews the other.
      const scope = call.principal.scope;
      const sessionToken =
        scope && deps.sessionTokens && lease.expireTime
          ? deps.sessionTokens.issue({
              tenant: call.principal.tenant,
              sessionId: scope.sessionId,
              harnessId: scope.harnessId,
              parentTokenId: call.principal.tokenId,
              expireMs: timestampMs(lease.expireTime) + limits.sessionTokenGraceMs,
            })
          : "";
      return { lease, sessionToken };
    },

    async releaseLease(req, call) {
      const ref = refOf(req.sessionId, call);
      await store.releaseLease(ref, positive(req.epoch, "epoch"));
      return {};
    },
  };
}
