import { create, type MessageShape } from "@bufbuild/protobuf";
import { GetServerInfoResponseSchema, type ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import type { Handlers } from "./handlers.js";
import type { Limits } from "@oma/client/gen/oma/v1/server_info_service_pb.js";

export const IMPLEMENTATION = "oma-reference";
export const SPEC_VERSION = "1.0";

export interface ServerInfo {
  readonly version: string;
  readonly features: () => readonly string[];
  readonly limits: Omit<Limits, "$typeName" | "$unknown">;
  readonly sandboxBackends: () => readonly string[];
  /** Where the session log is kept ("leveldb", "jetstream"). */
  readonly sessionStore: string;
}

/**
 * ServerInfoService: what this implementation claims, so the conformance suite knows what to
 * test. The answer is made on the first call and kept: every part has opened before the
 * server serves, and what they claim does not change while it runs.
 */
export function createServerInfoService(info: ServerInfo): Handlers<typeof ServerInfoService> {
  let answer: MessageShape<typeof GetServerInfoResponseSchema> | undefined;
  return {
    getServerInfo() {
      return (answer ??= create(GetServerInfoResponseSchema, {
        implementation: IMPLEMENTATION,
        version: info.version,
        specVersion: SPEC_VERSION,
        features: [...info.features()],
        limits: info.limits,
        sandboxBackends: [...info.sandboxBackends()],
        sessionStore: info.sessionStore,
      }));
    },
  };
}
