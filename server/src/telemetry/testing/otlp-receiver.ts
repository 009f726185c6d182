import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as an OTLP receiver decodes it. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly { readonly name: string; readonly attributes: Readonly<Record<string, unknown>> }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  /** The resource's service.name. */
  readonly service: string;
  /** The instrumentation scope (tracer) name: "oma" for OMA's own spans. */
  readonly scope: string;
  /** Start and end, milliseconds since the epoch (to the microsecond). */
  readonly startMs: number;
  readonly endMs: number;
}

export interface OtlpReceiver {
  /** The endpoint for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Resolves once `done(spans)` holds, checking after each export; rejects after `timeoutMs`. */
  waitFor(done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real OTLP/HTTP traces receiver for tests: POST /v1/traces with an
 * ExportTraceServiceRequest in protobuf (application/x-protobuf), decoded field by field
 * with the protobuf wire reader (opentelemetry-proto's numbering), answered with an empty
 * ExportTraceServiceResponse.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces" || req.headers["content-type"] !== "application/x-protobuf") {
        res.writeHead(415).end();
        return;
      }
      try {
        spans.push(...decodeExportRequest(new Uint8Array(Buffer.concat(chunks))));
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(err));
        return;
      }
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    waitFor(done, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the OTLP receiver did not get the expected spans within ${timeoutMs} ms; it has: ${spans.map((s) => `${s.service}:${s.name}`).join(", ")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Each length-delimited or scalar field of a message, by number. */
function fields(bytes: Uint8Array, onField: (field: number, reader: BinaryReader, wireType: WireType) => void): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const before = reader.pos;
    onField(field, reader, wireType);
    if (reader.pos === before) reader.skip(wireType, field);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function decodeExportRequest(bytes: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  // ExportTraceServiceRequest.resource_spans = 1
  fields(bytes, (f, r) => {
    if (f !== 1) return;
    const resourceSpans = r.bytes();
    let service = "";
    const scopes: Uint8Array[] = [];
    // ResourceSpans: resource = 1 (Resource.attributes = 1), scope_spans = 2
    fields(resourceSpans, (f2, r2) => {
      if (f2 === 1) {
        fields(r2.bytes(), (f3, r3) => {
          if (f3 === 1) {
            const [k, v] = keyValue(r3.bytes());
            if (k === "service.name") service = String(v);
          }
        });
      } else if (f2 === 2) scopes.push(r2.bytes());
    });
    for (const scopeSpans of scopes) {
      // ScopeSpans: scope = 1 (InstrumentationScope.name = 1), spans = 2
      let scope = "";
      const spans: Uint8Array[] = [];
      fields(scopeSpans, (f3, r3) => {
        if (f3 === 1) {
          fields(r3.bytes(), (f4, r4) => {
            if (f4 === 1) scope = r4.string();
          });
        } else if (f3 === 2) spans.push(r3.bytes());
      });
      for (const span of spans) out.push(decodeSpan(span, service, scope));
    }
  });
  return out;
}

function decodeSpan(bytes: Uint8Array, service: string, scope: string): ReceivedSpan {
  let traceId = "", spanId = "", parentSpanId = "", name = "", kind = 0, statusCode = 0, startMs = 0, endMs = 0;
  const attributes: Record<string, unknown> = {};
  const events: { name: string; attributes: Record<string, unknown> }[] = [];
  fields(bytes, (f, r) => {
    switch (f) {
      case 1: traceId = hex(r.bytes()); break;
      case 2: spanId = hex(r.bytes()); break;
      case 4: parentSpanId = hex(r.bytes()); break;
      case 5: name = r.string(); break;
      case 6: kind = r.int32(); break;
      case 7: startMs = nanosToMs(r.fixed64()); break;
      case 8: endMs = nanosToMs(r.fixed64()); break;
      case 9: {
        const [k, v] = keyValue(r.bytes());
        attributes[k] = v;
        break;
      }
      case 11: {
        const event = { name: "", attributes: {} as Record<string, unknown> };
        fields(r.bytes(), (fe, re) => {
          if (fe === 2) event.name = re.string();
          else if (fe === 3) {
            const [k, v] = keyValue(re.bytes());
            event.attributes[k] = v;
          }
        });
        events.push(event);
        break;
      }
      case 15:
        fields(r.bytes(), (fs, rs) => {
          if (fs === 3) statusCode = rs.int32();
        });
        break;
    }
  });
  return { traceId, spanId, parentSpanId, name, kind, attributes, events, statusCode, service, scope, startMs, endMs };
}

const nanosToMs = (nanos: bigint | string) => Number(BigInt(nanos) / 1000n) / 1000;

/** KeyValue: key = 1, value = 2 (AnyValue). */
function keyValue(bytes: Uint8Array): [string, unknown] {
  let key = "";
  let value: unknown;
  fields(bytes, (f, r) => {
    if (f === 1) key = r.string();
    else if (f === 2) value = anyValue(r.bytes());
  });
  return [key, value];
}

/** AnyValue: string 1, bool 2, int 3, double 4, array 5 (ArrayValue.values = 1). */
function anyValue(bytes: Uint8Array): unknown {
  let value: unknown;
  fields(bytes, (f, r) => {
    if (f === 1) value = r.string();
    else if (f === 2) value = r.bool();
    else if (f === 3) value = Number(r.int64());
    else if (f === 4) value = r.double();
    else if (f === 5) {
      const values: unknown[] = [];
      fields(r.bytes(), (fa, ra) => {
        if (fa === 1) values.push(anyValue(ra.bytes()));
      });
      value = values;
    }
  });
  return value;
}
