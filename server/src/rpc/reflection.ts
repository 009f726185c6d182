import { create, fromBinary, toBinary, type DescFile, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "@oma/client/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@oma/client/gen/grpc/reflection/v1alpha/reflection_pb.js";

type ReflectionRequest = v1.ServerReflectionRequest;
type ReflectionResponse = v1.ServerReflectionResponse;

/** The file and every file it imports, dependencies first, each once. */
function withDependencies(file: DescFile, into: Map<string, DescFile> = new Map()): Map<string, DescFile> {
  for (const dep of file.dependencies) withDependencies(dep, into);
  if (!into.has(file.name)) into.set(file.name, file);
  return into;
}

function fileResponse(files: Iterable<DescFile>): ReflectionResponse["messageResponse"] {
  const fileDescriptorProto = [...files].map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
  return { case: "fileDescriptorResponse", value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto }) };
}

function notFound(message: string): ReflectionResponse["messageResponse"] {
  return { case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode: 5, errorMessage: message }) };
}

/** Answers one reflection request from the registry of served files. */
function answer(req: ReflectionRequest, registry: Registry, services: readonly string[], files: ReadonlyMap<string, DescFile>): ReflectionResponse {
  let messageResponse: ReflectionResponse["messageResponse"];
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      messageResponse = {
        case: "listServicesResponse",
        value: create(v1.ListServiceResponseSchema, { service: services.map((name) => ({ name })) }),
      };
      break;
    case "fileByFilename": {
      const file = files.get(r.value);
      messageResponse = file ? fileResponse(withDependencies(file).values()) : notFound(`file ${r.value} not found`);
      break;
    }
    case "fileContainingSymbol": {
      // A method symbol ("pkg.Service.Method") resolves through its service.
      const symbol = r.value;
      const desc = registry.get(symbol) ?? registry.get(symbol.slice(0, Math.max(0, symbol.lastIndexOf("."))));
      messageResponse = desc ? fileResponse(withDependencies(desc.file).values()) : notFound(`symbol ${symbol} not found`);
      break;
    }
    case "fileContainingExtension":
    case "allExtensionNumbersOfType":
      messageResponse = notFound("OMA defines no extensions");
      break;
    default:
      messageResponse = { case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode: 3, errorMessage: "empty request" }) };
  }
  return create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
}

/**
 * gRPC server reflection, v1 and v1alpha (the two are wire-identical), so grpcurl,
 * buf curl and Postman can list and call the services without the .proto files.
 */
export function createReflectionServices(registry: Registry, services: () => readonly string[]) {
  const files = new Map<string, DescFile>();
  for (const type of registry) files.set(type.file.name, type.file);
  for (const file of [...files.values()]) withDependencies(file, files);
  const v1Impl: ServiceImpl<typeof v1.ServerReflection> = {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(req, registry, services(), files);
    },
  };
  const v1alphaImpl: ServiceImpl<typeof v1alpha.ServerReflection> = {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        // The two versions are wire-identical: translate through their binary form.
        const asV1 = fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req));
        const res = answer(asV1, registry, services(), files);
        yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, res));
      }
    },
  };
  return { v1: v1Impl, v1alpha: v1alphaImpl };
}
