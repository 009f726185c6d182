import { Code, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { bearerAuth } from "@oma/client";
import { ServerReflection } from "@oma/client/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionAlpha } from "@oma/client/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@oma/client/gen/grpc/health/v1/health_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./testing/test-app.js";
import { defaultLimits } from "./limits.js";

// WIRE-1: one port serves gRPC, gRPC-Web and Connect, plus health and reflection.
describe("server (real sockets)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.stop();
  });

  it("lists the oma.v1 services over reflection v1 and v1alpha", async () => {
    async function* listServices() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    for (const svc of [ServerReflection, ServerReflectionAlpha] as const) {
      const client = createClient(svc as typeof ServerReflection, app.grpc);
      const names: string[] = [];
      for await (const res of client.serverReflectionInfo(listServices())) {
        if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
      }
      expect(names).toEqual(expect.arrayContaining(["oma.v1.SessionService", "oma.v1.HarnessService", "oma.v1.SandboxService", "oma.v1.ServerInfoService", "grpc.health.v1.Health"]));
    }
  });

  it("returns file descriptors with their dependencies for a method symbol", async () => {
    async function* bySymbol() {
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "oma.v1.SessionService.EmitEvent" } };
    }
    const client = createClient(ServerReflection, app.grpc);
    for await (const res of client.serverReflectionInfo(bySymbol())) {
      expect(res.messageResponse.case).toBe("fileDescriptorResponse");
      if (res.messageResponse.case === "fileDescriptorResponse") {
        // session_service.proto imports event.proto, session.proto, … and google/protobuf files.
        expect(res.messageResponse.value.fileDescriptorProto.length).toBeGreaterThan(4);
      }
    }
  });

  it("reports SERVING on grpc.health.v1 and NOT_FOUND for unknown services", async () => {
    const health = createClient(Health, app.grpc);
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "oma.v1.SessionService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("answers GetServerInfo over gRPC, Connect (HTTP/1.1) and gRPC-Web with the limits in force", async () => {
    const transports = [app.grpc, app.connect, createGrpcWebTransport({ baseUrl: app.url, httpVersion: "1.1", interceptors: [bearerAuth(app.adminToken)] })];
    for (const t of transports) {
      const info = await createClient(ServerInfoService, t).getServerInfo({});
      expect(info.implementation).toBe("oma-reference");
      expect(info.specVersion).toBe("1.0");
      expect(info.limits?.maxEventBytes).toBe(defaultLimits.maxEventBytes);
    }
  });

  it("answers UNIMPLEMENTED for a method nobody serves", async () => {
    const err = await app.connect.unary(
      { ...ServerInfoService.method.getServerInfo, name: "NoSuchMethod", parent: { ...ServerInfoService, typeName: "oma.v1.NoSuchService" } } as never,
      undefined, undefined, undefined, {} as never,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unimplemented);
  });
});
