import type { AgentConfig } from "@oma/client/gen/oma/v1/session_pb.js";
import { EventOrder, type SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { SessionTokens } from "../auth/session-token.js";
import type { ServerLimits } from "../limits.js";
import { leaseTtlMs } from "../rpc/field-rules.js";
import type { Call, Handlers } from "../rpc/handlers.js";
import { pageSize, type Paging } from "../rpc/paging.js";
import { newId } from "../store/ids.js";
import type { SessionRef, SessionStore } from "../store/session-store.js";
import { DEFAULT_EVENTS_LIMIT } from "./session-validators.js";
import { appendStream } from "./append-stream.js";
import { validateEvents } from "./validate-events.js";
import { watchEvents } from "./watch-events.js";

/** What EmitEvent, EmitEvents and AppendEvents requests carry besides their events. */
interface AppendRequest {
  readonly sessionId: string;
  readonly idempotencyKey: string;
  readonly expectedHeadSeq?: bigint;
  readonly leaseEpoch?: bigint;
}

/** Field path of event i of a batch. */
const eventPath = (i: number) => `events[${i}]`;

export interface SessionServiceDeps {
  readonly store: SessionStore;
  readonly limits: ServerLimits;
  readonly paging: Paging;
  /** Watch heartbeat interval (SESS-13). */
  readonly heartbeatMs: number;
  /** Renews the session tokens of brains (RenewLease); undefined when calls are not authenticated. */
  readonly sessionTokens?: SessionTokens;
  /** Checks the credentials an agent names (its MCP servers') against the caller's tenant's vault. */
  readonly checkAgentCredentials?: (tenant: string, agent: AgentConfig) => Promise<void>;
}

/**
 * SessionService: hands each request, already checked by its rules (session-validators.ts),
 * to the store. The one exception is the events of an append, which are checked here by
 * the same layer's validateEvents, first thing: the encoding its size check makes of each
 * event is what the log stores, and it is made once. All rules of the log itself live in
 * the store; this edge only translates.
 */
export function createSessionService(deps: SessionServiceDeps): Handlers<typeof SessionService> {
  const { store, limits } = deps;
  const optional = (value: bigint | undefined) => (value === undefined ? undefined : Number(value));
  /** The session a request names, in the caller's tenant (SEC-10): another tenant's does not exist for it. */
  const refOf = (sessionId: string, call: Call): SessionRef => ({ tenant: call.principal.tenant, sessionId });
  const appendOptions = (req: AppendRequest) => ({
    idempotencyKey: req.idempotencyKey === "" ? undefined : req.idempotencyKey,
    expectedHeadSeq: optional(req.expectedHeadSeq),
    leaseEpoch: optional(req.leaseEpoch),
  });

  /**
   * Checks the events (the request's other fields passed session-validators.ts) and appends
   * them with the binary and JSON forms the check made. Throws at once, not later, when the events
   * break a rule: an AppendEvents stream then reads no more.
   */
  const append = (req: AppendRequest, events: readonly (Event | undefined)[], path: (i: number) => string, call: Call) => {
    const checked = validateEvents(events, limits, path);
    return store.append(refOf(req.sessionId, call), checked.events, { ...appendOptions(req), encoded: checked.encoded, json: checked.json });
  };

  return {
    async createSession(req, call) {
      const sessionId = req.sessionId === "" ? newId("ses") : req.sessionId;
      await deps.checkAgentCredentials?.(call.principal.tenant, req.agent!);
      return { session: await store.createSession({ tenant: call.principal.tenant, sessionId, labels: req.labels, agent: req.agent! }) };
    },

    async getSession(req, call) {
      return { session: await store.getSession(refOf(req.sessionId, call)) };
    },

    async listSessions(req, call) {
      const tenant = call.principal.tenant;
      // Bound to the tenant too: a page token of one tenant opens no listing of another.
      const query = { list: "ListSessions", tenant, status: req.status, labels: req.labels };
      const { size, cursor } = deps.paging.open(req, query);
      const page = await store.listSessions({ tenant, pageSize: size, cursor, status: req.status, labels: req.labels });
      return { sessions: page.sessions, nextPageToken: deps.paging.next(page.nextCursor, query) };
    },

    async deleteSession(req, call) {
      await store.deleteSession(refOf(req.sessionId, call));
      return {};
    },

    async emitEvent(req, call) {
      const result = await append(req, [req.event], () => "event", call);
      return { event: result.events[0], duplicate: result.duplicate };
    },

    async emitEvents(req, call) {
      const result = await append(req, req.events, eventPath, call);
      return { events: result.events, duplicate: result.duplicate };
    },

    appendEvents(requests, call) {
      return appendStream(requests, (req) => append(req, req.events, eventPath, call));
    },

    async getEvents(req, call) {
      const limit = pageSize(req.limit, "limit", DEFAULT_EVENTS_LIMIT, limits.maxPageSize);
      const order = req.order === EventOrder.DESCENDING ? "desc" : "asc";
      const slice = await store.readEvents(refOf(req.sessionId, call), { afterSeq: Number(req.afterSeq), beforeSeq: Number(req.beforeSeq), limit, order });
      return { events: slice.events, headSeq: BigInt(slice.headSeq) };
    },

    async *watchEvents(req, call) {
      const ref = refOf(req.sessionId, call);
      yield* watchEvents(store, { ref, afterSeq: Number(req.afterSeq), maxLagEvents: limits.maxWatchLagEvents, heartbeatMs: deps.heartbeatMs, signal: call.signal });
    },

    async acquireLease(req, call) {
      return { lease: await store.acquireLease(refOf(req.sessionId, call), req.holder, leaseTtlMs(req.ttl)) };
    },

    async renewLease(req, call) {
      const lease = await store.renewLease(refOf(req.sessionId, call), Number(req.epoch), leaseTtlMs(req.ttl));
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
      await store.releaseLease(refOf(req.sessionId, call), Number(req.epoch));
      return {};
    },
  };
}
