import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@oma/client/gen/grpc/health/v1/health_pb.js";

/**
 * grpc.health.v1: the overall server ("") and every served service report SERVING while
 * the server runs. Unknown service names are NOT_FOUND for Check, as the health protocol says.
 */
export function createHealthService(servedServices: () => readonly string[]): ServiceImpl<typeof Health> {
  const statusOf = (service: string): Status | undefined =>
    service === "" || servedServices().includes(service) ? Status.SERVING : undefined;
  return {
    check(req) {
      const status = statusOf(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    async *watch(req, ctx) {
      yield { status: statusOf(req.service) ?? Status.SERVICE_UNKNOWN };
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },
  };
}
