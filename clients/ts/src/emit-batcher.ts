import { create, toBinary } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { EventSchema } from "./gen/oma/v1/event_pb.js";
import type { EmitEventResponse, SessionService } from "./gen/oma/v1/session_service_pb.js";
import { emitEvent, emitEvents, type EmitOptions, type EventPayloadInit } from "./emit.js";

/** Most emits one gathered EmitEvents carries. */
export const MAX_GATHERED_EMITS = 100;
/**
 * Most encoded event bytes one gathered EmitEvents carries: half the reference server's
 * default batch bound (1 MiB), so a gathered call is never refused for its size when each of
 * its emits alone would not be. An emit larger than this goes alone.
 */
export const MAX_GATHERED_BYTES = 512 * 1024;

interface Waiting {
  readonly payload: EventPayloadInit;
  readonly resolve: (res: EmitEventResponse) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Keyed emits that share calls: while an emit to a session is in flight, the emits to the
 * same session (under the same lease epoch) that arrive meanwhile wait and then go as one
 * EmitEvents (at most MAX_GATHERED_EMITS emits and MAX_GATHERED_BYTES), in the order they were made, under one idempotency key reused by its
 * retries (SESS-3). Each caller gets its own event. The gathered batch is atomic (SESS-4):
 * an event the server refuses fails every emit gathered with it. An emit with its own
 * idempotency key or an expected head goes alone, as emitEvent. Asked for with
 * `sessions.emit(…, { batch: true })`.
 */
export function createEmitBatcher(client: Pick<Client<typeof SessionService>, "emitEvent" | "emitEvents">) {
  const lanes = new Map<string, { waiting: Waiting[]; busy: boolean }>();

  // A gathered call carries the lease epoch and default retries: one caller's signal or
  // deadline must not cut the emits of the others.
  const drain = async (key: string, sessionId: string, options: Pick<EmitOptions, "leaseEpoch">) => {
    const lane = lanes.get(key)!;
    while (lane.waiting.length > 0) {
      const group = lane.waiting.splice(0, gatheredCount(lane.waiting));
      try {
        const res = await emitEvents(client, sessionId, group.map((w) => w.payload), options);
        group.forEach((w, i) => w.resolve({ $typeName: "oma.v1.EmitEventResponse", event: res.events[i], duplicate: res.duplicate }));
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    lane.busy = false;
    lanes.delete(key);
  };

  return {
    emit(sessionId: string, payload: EventPayloadInit, options: EmitOptions = {}): Promise<EmitEventResponse> {
      if (options.idempotencyKey !== undefined || options.expectedHeadSeq !== undefined) return emitEvent(client, sessionId, payload, options);
      const key = `${sessionId}\u0000${options.leaseEpoch ?? ""}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = { waiting: [], busy: false }));
      const done = new Promise<EmitEventResponse>((resolve, reject) => lane.waiting.push({ payload, resolve, reject }));
      if (!lane.busy) {
        lane.busy = true;
        void drain(key, sessionId, options.leaseEpoch === undefined ? {} : { leaseEpoch: options.leaseEpoch });
      }
      return done;
    },
  };
}

/**
 * How many of the first waiting emits fit one call: at least one, at most the count and byte
 * bounds. Sizes are measured only when emits are gathered (a lone emit is not encoded twice).
 */
function gatheredCount(waiting: readonly Waiting[]): number {
  if (waiting.length === 1) return 1;
  const size = (w: Waiting) => toBinary(EventSchema, create(EventSchema, { payload: w.payload })).length;
  let n = 1;
  let bytes = size(waiting[0]!);
  while (n < waiting.length && n < MAX_GATHERED_EMITS) {
    const next = size(waiting[n]!);
    if (bytes + next > MAX_GATHERED_BYTES) break;
    bytes += next;
    n++;
  }
  return n;
}
