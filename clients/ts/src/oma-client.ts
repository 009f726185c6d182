import { createClient, type Client, type Transport } from "@connectrpc/connect";
import type { Event } from "./gen/oma/v1/event_pb.js";
import { HarnessService } from "./gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "./gen/oma/v1/sandbox_service_pb.js";
import { ServerInfoService } from "./gen/oma/v1/server_info_service_pb.js";
import { TokenService } from "./gen/oma/v1/token_service_pb.js";
import { VaultService } from "./gen/oma/v1/vault_service_pb.js";
import { SessionService, type EmitEventResponse, type EmitEventsResponse } from "./gen/oma/v1/session_service_pb.js";
import { emitEvent, emitEvents, type EmitOptions, type EventPayloadInit } from "./emit.js";
import { openAppender, type Appender } from "./append.js";
import { createEmitBatcher } from "./emit-batcher.js";
import { watchEvents, type WatchOptions } from "./watch.js";

/** SessionService, plus the helpers that make its streams and appends safe to retry. */
export type OmaSessionsClient = Client<typeof SessionService> & {
  /** Every event after `options.afterSeq`, then live ones, reconnecting by itself (see watchEvents). */
  watch(sessionId: string, options?: WatchOptions): AsyncGenerator<Event, void, undefined>;
  /**
   * Appends one event, retrying transport faults under one idempotency key (see emitEvent);
   * with `batch: true`, concurrent emits to one session share EmitEvents calls (createEmitBatcher).
   */
  emit(sessionId: string, payload: EventPayloadInit, options?: EmitOptions): Promise<EmitEventResponse>;
  /** Appends an atomic batch, retrying under one idempotency key (see emitEvents). */
  emitBatch(sessionId: string, payloads: readonly EventPayloadInit[], options?: EmitOptions): Promise<EmitEventsResponse>;
  /**
   * Many appends over one AppendEvents stream where the transport has bidirectional
   * streams (gRPC; Connect or gRPC-Web over HTTP/2), EmitEvents calls elsewhere (see openAppender).
   */
  openAppender(): Appender;
};

/** One client per OMA service, over one transport. */
export interface OmaClient {
  readonly sessions: OmaSessionsClient;
  readonly harness: Client<typeof HarnessService>;
  readonly sandboxes: Client<typeof SandboxService>;
  readonly serverInfo: Client<typeof ServerInfoService>;
  /** TokenService (admin tokens only). */
  readonly tokens: Client<typeof TokenService>;
  /** VaultService: the tenant's credentials, write-only secrets (client and admin tokens). */
  readonly vault: Client<typeof VaultService>;
  readonly transport: Transport;
}

/**
 * Builds the OMA clients on any Connect transport (gRPC, Connect, gRPC-Web, in-memory).
 * `bidiStreams`: whether the transport carries bidirectional streams (default false, so
 * appenders use unary calls on a transport of unknown kind).
 */
export function createOmaClientFromTransport(transport: Transport, options: { bidiStreams?: boolean } = {}): OmaClient {
  const session = createClient(SessionService, transport);
  const batcher = createEmitBatcher(session);
  const sessions: OmaSessionsClient = {
    ...session,
    watch: (sessionId, options) => watchEvents(session, sessionId, options),
    emit: (sessionId, payload, options) => (options?.batch ? batcher.emit(sessionId, payload, options) : emitEvent(session, sessionId, payload, options)),
    emitBatch: (sessionId, payloads, options) => emitEvents(session, sessionId, payloads, options),
    openAppender: () => openAppender(session, { streams: options.bidiStreams ?? false }),
  };
  return {
    sessions,
    harness: createClient(HarnessService, transport),
    sandboxes: createClient(SandboxService, transport),
    serverInfo: createClient(ServerInfoService, transport),
    tokens: createClient(TokenService, transport),
    vault: createClient(VaultService, transport),
    transport,
  };
}
