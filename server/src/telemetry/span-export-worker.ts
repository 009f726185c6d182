// The export thread: turns span records back into spans and hands them to the official
// OTLP/HTTP protobuf exporter, which reads the standard OTEL_EXPORTER_OTLP_* variables of
// the process (a worker thread shares its environment). See off-thread-exporter.ts.
import { parentPort } from "node:worker_threads";
import { ExportResultCode } from "@opentelemetry/core";
import type { InstrumentationScope } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ExportReply, ExportRequest } from "./span-export-messages.js";
import { fromSpanRecord } from "./span-record.js";

const port = parentPort!;
const exporter = new OTLPTraceExporter();
let resource: Resource = resourceFromAttributes({});
const scopes = new Map<string, InstrumentationScope>();
const reply = (r: ExportReply) => port.postMessage(r);
const failed = (id: number, err: unknown) => reply({ id, code: ExportResultCode.FAILED, error: err instanceof Error ? err.message : String(err) });

port.on("message", (m: ExportRequest) => {
  if (m.kind === "export") {
    if (m.resource) resource = resourceFromAttributes(m.resource.attributes, m.resource.schemaUrl ? { schemaUrl: m.resource.schemaUrl } : {});
    exporter.export(
      m.spans.map((r) => fromSpanRecord(r, resource, scopes)),
      (result) => reply({ id: m.id, code: result.code, ...(result.error ? { error: result.error.message } : {}) }),
    );
  } else {
    (m.kind === "flush" ? exporter.forceFlush() : exporter.shutdown()).then(() => reply({ id: m.id, code: ExportResultCode.SUCCESS }), (err: unknown) => failed(m.id, err));
  }
});
