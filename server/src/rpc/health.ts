import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import type { StorageHealth } from "../store/storage-health.js";

/**
 * grpc.health.v1: the overall server ("") and every served service report SERVING while
 * the server runs, and NOT_SERVING once its storage failed (SESS-21), so that a supervisor
 * restarts it. Unknown service names are NOT_FOUND for Check, as the health protocol says.
 */
export function createHealthService(servedServices: () => readonly string[], storage?: StorageHealth): ServiceImpl<typeof Health> {
  const statusOf = (service: string): Status | undefined => {
    if (service !== "" && !servedServices().includes(service)) return undefined;
    return storage?.failure ? Status.NOT_SERVING : Status.SERVING;
  };
  return {
    check(req) {
      const status = statusOf(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    async *watch(req, ctx) {
      let status = statusOf(req.service) ?? Status.SERVICE_UNKNOWN;
      yield { status };
      while (!ctx.signal.aborted) {
        await storageFailureOrAbort(storage, ctx.signal);
        const next = statusOf(req.service) ?? Status.SERVICE_UNKNOWN;
        if (!ctx.signal.aborted && next !== status) yield { status: (status = next) };
      }
    },
  };
}

/** Resolves when the call ends or, if storage works until now, when it fails. */
function storageFailureOrAbort(storage: StorageHealth | undefined, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      unsubscribe?.();
      resolve();
    };
    const unsubscribe = storage && !storage.failure ? storage.onFailure(done) : undefined;
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
}
