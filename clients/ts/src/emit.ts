import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { EventSchema } from "./gen/oma/v1/event_pb.js";
import type { EmitEventResponse, EmitEventsResponse, SessionService } from "./gen/oma/v1/session_service_pb.js";
import { defaultAttemptTimeoutMs, defaultRetryAttempts, withRetries, type RetryOptions } from "./retry.js";

/** The payload of an event: `{ case: "userMessage", value: { content: [...] } }` and so on. */
export type EventPayloadInit = NonNullable<MessageInitShape<typeof EventSchema>["payload"]>;

export interface EmitOptions extends RetryOptions {
  /**
   * The key that makes retries safe (SESS-3). Default: a new random key for this call,
   * reused by each of its retries. Pass your own to make retries across processes safe.
   */
  idempotencyKey?: string;
  /** Append only if the head is this seq (SESS-2). */
  expectedHeadSeq?: bigint | number;
  /** Append only under this lease epoch (SESS-10). */
  leaseEpoch?: bigint | number;
  /**
   * `sessions.emit` only: gather this emit with concurrent ones to the same session into one
   * EmitEvents (see createEmitBatcher). Ignored with an idempotency key or an expected head.
   */
  batch?: boolean;
}

export const defaultEmitAttempts = defaultRetryAttempts;
export const defaultEmitAttemptTimeoutMs = defaultAttemptTimeoutMs;

/** A fresh idempotency key: random, so two logical calls never share one. */
export function newIdempotencyKey(): string {
  return `k-${globalThis.crypto.randomUUID()}`;
}

/**
 * EmitEvent with retries that cannot duplicate: every attempt carries the same
 * idempotency key, so a retry of an append the server already acknowledged returns the
 * original event with `duplicate = true` (SESS-3). Retries transport faults only (see
 * isTransientFailure); an error with an OMA reason is thrown at once.
 */
export async function emitEvent(
  client: Pick<Client<typeof SessionService>, "emitEvent">,
  sessionId: string,
  payload: EventPayloadInit,
  options: EmitOptions = {},
): Promise<EmitEventResponse> {
  const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
  const request = { sessionId, event: { payload }, idempotencyKey, ...fencing(options) };
  return withRetries((call) => client.emitEvent(request, call), options);
}

/** EmitEvents (an atomic batch, SESS-4) with the same retry rules as emitEvent; the key covers the batch. */
export async function emitEvents(
  client: Pick<Client<typeof SessionService>, "emitEvents">,
  sessionId: string,
  payloads: readonly EventPayloadInit[],
  options: EmitOptions = {},
): Promise<EmitEventsResponse> {
  const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
  const events = payloads.map((payload) => ({ payload }));
  const request = { sessionId, events, idempotencyKey, ...fencing(options) };
  return withRetries((call) => client.emitEvents(request, call), options);
}

function fencing(options: EmitOptions): { expectedHeadSeq?: bigint; leaseEpoch?: bigint } {
  return {
    ...(options.expectedHeadSeq === undefined ? {} : { expectedHeadSeq: BigInt(options.expectedHeadSeq) }),
    ...(options.leaseEpoch === undefined ? {} : { leaseEpoch: BigInt(options.leaseEpoch) }),
  };
}

/** The payload of a user message with one text block. */
export function userText(text: string): EventPayloadInit {
  return { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } };
}
