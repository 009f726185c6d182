import type { Attributes } from "@opentelemetry/api";
import type { SpanRecord } from "./span-record.js";

/** What the export thread is asked: export spans (with the resource when it changed), flush, or stop. */
export type ExportRequest =
  | { readonly kind: "export"; readonly id: number; readonly resource?: { readonly attributes: Attributes; readonly schemaUrl?: string }; readonly spans: SpanRecord[] }
  | { readonly kind: "flush" | "shutdown"; readonly id: number };

/** Its answer to request `id`: the OTLP exporter's result code, and why it failed. */
export interface ExportReply {
  readonly id: number;
  readonly code: number;
  readonly error?: string;
}
