import { createRegistry } from "@bufbuild/protobuf";
import { Health, file_grpc_health_v1_health } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import * as reflectionV1 from "@oma/client/gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "@oma/client/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { HarnessService, file_oma_v1_harness_service } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService, file_oma_v1_sandbox_service } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { ServerInfoService, file_oma_v1_server_info_service } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService, file_oma_v1_session_service } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { file_oma_v1_error_reason } from "@oma/client/gen/oma/v1/error_reason_pb.js";
import { file_google_rpc_error_details } from "@oma/client/gen/google/rpc/error_details_pb.js";
import { TokenService, file_oma_v1_token_service } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { VaultService, file_oma_v1_vault_service } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import type { Authenticator } from "./auth/authenticate.js";
import { connectService } from "./rpc/connect-adapter.js";
import { errorInterceptor } from "./rpc/error-interceptor.js";
import type { ServiceParts } from "./rpc/handlers.js";
import { createHealthService } from "./rpc/health.js";
import { listen, type Listening, type ServedService } from "./rpc/listener.js";
import type { HttpRoute } from "./http/http-routes.js";
import type { OmaMetrics } from "./telemetry/metrics.js";
import { rpcMetricsInterceptor } from "./telemetry/rpc-metrics-interceptor.js";
import { traceInterceptor } from "./telemetry/trace-interceptor.js";
import { createReflectionServices } from "./rpc/reflection.js";
import { createServerInfoService } from "./rpc/server-info.js";
import { defaultLimits, type ServerLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { StorageHealth } from "./store/storage-health.js";
import { VERSION } from "./version.js";

/** The handlers and request rules of the OMA services; a missing method answers UNIMPLEMENTED. */
export interface OmaServices {
  readonly session?: ServiceParts<typeof SessionService>;
  readonly harness?: ServiceParts<typeof HarnessService>;
  readonly sandbox?: ServiceParts<typeof SandboxService>;
  readonly tokens?: ServiceParts<typeof TokenService>;
  readonly vault?: ServiceParts<typeof VaultService>;
}

const none = { handlers: {}, validators: {} } as unknown as ServiceParts<never>;

export interface OmaServerOptions {
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly services: OmaServices;
  /** Authenticates every call of the OMA services (health and reflection are open). */
  readonly auth: Authenticator;
  readonly limits?: ServerLimits;
  /** Features this server claims in GetServerInfo. */
  readonly features?: () => readonly string[];
  /** Sandbox backends available, the default first. */
  readonly sandboxBackends?: () => readonly string[];
  /** The server's storage: once it failed, health reports NOT_SERVING (SESS-21). */
  readonly storage?: StorageHealth;
  /** Counts every RPC by method and code when set. */
  readonly metrics?: OmaMetrics;
  /** Plain HTTP routes on the same port (the inspector, /metrics). */
  readonly httpRoutes?: HttpRoute;
  /** A span for every RPC (only when an OpenTelemetry SDK was started: telemetry/tracing.ts). */
  readonly tracing?: boolean;
  /** Where the session log is kept, as GetServerInfo says it. */
  readonly sessionStore?: string;
}

/** The files whose services and messages reflection describes. */
const servedFiles = [
  file_oma_v1_session_service,
  file_oma_v1_harness_service,
  file_oma_v1_sandbox_service,
  file_oma_v1_server_info_service,
  file_oma_v1_token_service,
  file_oma_v1_vault_service,
  file_oma_v1_error_reason,
  file_google_rpc_error_details,
  file_grpc_health_v1_health,
  reflectionV1.file_grpc_reflection_v1_reflection,
  reflectionV1alpha.file_grpc_reflection_v1alpha_reflection,
];

/** Starts the RPC server: the OMA services plus ServerInfo, health and reflection on one port. */
export async function startOmaServer(options: OmaServerOptions): Promise<Listening> {
  const limits = options.limits ?? defaultLimits;
  const registry = createRegistry(...servedFiles);
  let serviceNames: string[] = [];
  const reflection = createReflectionServices(registry, () => serviceNames);
  const auth = options.auth;
  const services: ServedService[] = [
    { desc: SessionService, impl: connectService(SessionService, options.services.session ?? none, auth) },
    { desc: HarnessService, impl: connectService(HarnessService, options.services.harness ?? none, auth) },
    { desc: SandboxService, impl: connectService(SandboxService, options.services.sandbox ?? none, auth) },
    { desc: TokenService, impl: connectService(TokenService, options.services.tokens ?? none, auth) },
    { desc: VaultService, impl: connectService(VaultService, options.services.vault ?? none, auth) },
    {
      desc: ServerInfoService,
      impl: connectService(ServerInfoService, { validators: { getServerInfo: () => undefined }, handlers: createServerInfoService({
        version: VERSION,
        features: options.features ?? (() => []),
        sandboxBackends: options.sandboxBackends ?? (() => []),
        sessionStore: options.sessionStore ?? "",
        limits: {
          maxEventBytes: limits.maxEventBytes,
          maxBatchBytes: limits.maxBatchBytes,
          maxBatchEvents: limits.maxBatchEvents,
          maxPageSize: limits.maxPageSize,
          maxOutputBytes: limits.maxOutputBytes,
          maxWatchLagEvents: limits.maxWatchLagEvents,
          maxStructDepth: limits.maxStructDepth,
          maxRequestBytes: limits.maxRequestBytes,
        },
      }) }, auth),
    },
    { desc: Health, impl: createHealthService(() => serviceNames, options.storage) },
    { desc: reflectionV1.ServerReflection, impl: reflection.v1 },
    { desc: reflectionV1alpha.ServerReflection, impl: reflection.v1alpha },
  ];
  serviceNames = services.map((s) => s.desc.typeName);
  const log = options.logger;
  return listen({
    services,
    port: options.port,
    host: options.host,
    readMaxBytes: limits.maxRequestBytes,
    logger: log,
    rememberReceived: [EventSchema],
    httpRoutes: options.httpRoutes,
    // Outermost first: the metrics see the status code the client gets.
    interceptors: [
      ...(options.metrics ? [rpcMetricsInterceptor(options.metrics)] : []),
      ...(options.tracing ? [traceInterceptor()] : []),
      errorInterceptor((err, ctx) => log.error({ err, procedure: ctx.procedure }, "internal error")),
    ],
  });
}
