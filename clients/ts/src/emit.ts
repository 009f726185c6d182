import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions, Client } from "@connectrpc/connect";
import type { EventSchema } from "./gen/oma/v1/event_pb.js";
import type { EmitEventResponse, EmitEventsResponse, SessionService } from "./gen/oma/v1/session_service_pb.js";
import { backoffDelay, isTransientFailure, sleep, type BackoffOptions } from "./backoff.js";

/** The payload of an event: `{ case: "userMessage", value: { content: [...] } }` and so on. */
export type EventPayloadInit = NonNullable<MessageInitShape<typeof EventSchema>["payload"]>;

export interface EmitOptions {
  /**
   * The key that makes retries safe (SESS-3). Default: a new random key for this call,
   * reused by each of its retries. Pass your own to make retries across processes safe.
   */
  idempotencyKey?: string;
  /** Append only if the head is this seq (SESS-2). */
  expectedHeadSeq?: bigint | number;
  /** Append only under this lease epoch (SESS-10). */
  leaseEpoch?: bigint | number;
  /** Attempts in all, first call included. Default 5. */
  maxAttempts?: number;
  /** Delays between attempts. */
  backoff?: BackoffOptions;
  /** Aborts the call and any wait between attempts. */
  signal?: AbortSignal;
  /** Per-attempt deadline in milliseconds; a hung attempt becomes DEADLINE_EXCEEDED and is retried. Default 30 000. */
  timeoutMs?: number;
}

export const defaultEmitAttempts = 5;
export const defaultEmitAttemptTimeoutMs = 30_000;

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
  return withRetries(options, (call) => client.emitEvent(request, call));
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
  return withRetries(options, (call) => client.emitEvents(request, call));
}

function fencing(options: EmitOptions): { expectedHeadSeq?: bigint; leaseEpoch?: bigint } {
  return {
    ...(options.expectedHeadSeq === undefined ? {} : { expectedHeadSeq: BigInt(options.expectedHeadSeq) }),
    ...(options.leaseEpoch === undefined ? {} : { leaseEpoch: BigInt(options.leaseEpoch) }),
  };
}

async function withRetries<T>(options: EmitOptions, attempt: (call: CallOptions) => Promise<T>): Promise<T> {
  const maxAttempts = options.maxAttempts ?? defaultEmitAttempts;
  for (let n = 1; ; n++) {
    try {
      return await attempt({ signal: options.signal, timeoutMs: options.timeoutMs ?? defaultEmitAttemptTimeoutMs });
    } catch (err) {
      if (n >= maxAttempts || options.signal?.aborted || !isTransientFailure(err)) throw err;
      if (!(await sleep(backoffDelay(n - 1, options.backoff), options.signal))) throw err;
    }
  }
}

/** The payload of a user message with one text block. */
export function userText(text: string): EventPayloadInit {
  return { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } };
}
