import type { Client } from "@connectrpc/connect";
import { reasonOf } from "@oma/client";
import type { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { durationFromMs } from "../duration.js";
import { toInt64 } from "../int64.js";

/**
 * Renews a brain's lease as the brain starts, then every third of its TTL while it works
 * (HARN-4). The first renewal is at once: the lease was granted at the Wake, and the time
 * the assignment took to reach this worker must not come out of the brain's first TTL.
 * When the server answers LEASE_LOST, another brain owns the session: `onLost` fences this
 * one. Transient failures are retried at the next tick; two missed ticks still leave a
 * third of the TTL.
 */
export function keepLease(deps: {
  client: Client<typeof SessionService>;
  sessionId: string;
  epoch: number;
  ttlMs: number;
  onLost: (err: unknown) => void;
}): { stop(): void } {
  let stopped = false;
  const renew = () => {
    deps.client
      .renewLease({ sessionId: deps.sessionId, epoch: toInt64(deps.epoch), ttl: durationFromMs(deps.ttlMs) })
      .catch((err: unknown) => {
        if (!stopped && (reasonOf(err) === "LEASE_LOST" || reasonOf(err) === "SESSION_NOT_FOUND" || reasonOf(err) === "SESSION_TERMINATED")) {
          deps.onLost(err);
        }
      });
  };
  renew();
  const timer = setInterval(renew, Math.max(100, Math.floor(deps.ttlMs / 3)));
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
