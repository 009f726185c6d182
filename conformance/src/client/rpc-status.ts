import { fromBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { BadRequestSchema, ErrorInfoSchema } from "@oma/client/gen/google/rpc/error_details_pb.js";

/** The parts of google.rpc.Status the suite reads, with its error details decoded. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Record<string, string>;
  readonly badRequestFields: string[];
}

const errorInfoType = "type.googleapis.com/google.rpc.ErrorInfo";
const badRequestType = "type.googleapis.com/google.rpc.BadRequest";

/**
 * Decodes the `grpc-status-details-bin` trailer: a google.rpc.Status
 * (code = 1 int32, message = 2 string, details = 3 repeated google.protobuf.Any).
 * Status is read field by field so the suite needs no generated copy of it.
 */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatus {
  const reader = new BinaryReader(bytes);
  let code = 0;
  let message = "";
  const details: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) code = reader.int32();
    else if (field === 2 && wireType === WireType.LengthDelimited) message = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) details.push(reader.bytes());
    else reader.skip(wireType);
  }
  const out: DecodedStatus = { code, message, reason: "", domain: "", metadata: {}, badRequestFields: [] };
  for (const raw of details) {
    const any = fromBinary(AnySchema, raw);
    if (any.typeUrl === errorInfoType) {
      const info = fromBinary(ErrorInfoSchema, any.value);
      Object.assign(out, { reason: info.reason, domain: info.domain });
      Object.assign(out.metadata, info.metadata);
    } else if (any.typeUrl === badRequestType) {
      const badRequest = fromBinary(BadRequestSchema, any.value);
      out.badRequestFields.push(...badRequest.fieldViolations.map((v) => v.field));
    }
  }
  return out;
}
