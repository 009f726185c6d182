import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency buckets in seconds: from a cached append (~0.1 ms) to a long tool call (10 min). */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];
/** Events per synced batch: 1 up to the largest group commits. */
const BATCH_EVENTS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** What the server's running parts report when Prometheus scrapes: read at scrape time, never pushed. */
export interface FleetGauges {
  /** Live brains, brains waiting for a worker, connected workers. */
  harness?: () => { brains: number; waiting: number; workers: number };
  /** Live sandboxes by backend and state. */
  sandboxes?: () => readonly { backend: string; state: string; count: number }[];
}

/**
 * The server's Prometheus metrics, in a registry of its own (never prom-client's global
 * one): every server instance, and every test, counts for itself. Domain code never sees
 * prom-client; it reports through the narrow observers built from this (telemetry/*.ts).
 */
export class OmaMetrics {
  readonly registry: Registry;
  readonly rpcRequests: Counter<"method" | "code">;
  readonly rpcDuration: Histogram<"method">;
  readonly rpcStreamsOpen: Gauge<"method">;
  readonly appends: Counter<"outcome">;
  readonly appendDuration: Histogram;
  readonly storeWriteDuration: Histogram;
  readonly storeWriteBatchEvents: Histogram;
  readonly eventsAppended: Counter<"kind">;
  readonly watchers: Gauge;
  readonly leaseOperations: Counter<"operation" | "outcome">;
  readonly toolDuration: Histogram<"tool" | "backend" | "outcome">;
  readonly modelTokens: Counter<"model" | "type">;
  readonly modelCallDuration: Histogram<"model">;
  readonly sessionErrors: Counter<"code" | "retryable">;
  readonly retries: Counter<"code">;
  readonly rewakes: Counter;
  #fleet: FleetGauges = {};

  /**
   * `processMetrics` adds prom-client's default process and Node.js metrics (CPU, memory,
   * event-loop delay: a sampling timer per registry, so only the serving process asks).
   */
  constructor(options: { registry?: Registry; processMetrics?: boolean } = {}) {
    const registry = (this.registry = options.registry ?? new Registry());
    const registers = [registry];
    this.rpcRequests = new Counter({ name: "oma_rpc_requests_total", help: "RPCs finished, by method and gRPC status code", labelNames: ["method", "code"], registers });
    this.rpcDuration = new Histogram({ name: "oma_rpc_duration_seconds", help: "Duration of unary RPCs", labelNames: ["method"], buckets: SECONDS, registers });
    this.rpcStreamsOpen = new Gauge({ name: "oma_rpc_streams_open", help: "Server streams open now (WatchEvents, ConnectWorker, ExecuteStream)", labelNames: ["method"], registers });
    this.appends = new Counter({ name: "oma_appends_total", help: "Appends to session logs, by outcome (ok, duplicate, or the error reason)", labelNames: ["outcome"], registers });
    this.appendDuration = new Histogram({ name: "oma_append_duration_seconds", help: "Append latency, from the request to its durable acknowledgement", buckets: SECONDS, registers });
    this.storeWriteDuration = new Histogram({ name: "oma_store_write_duration_seconds", help: "Duration of one synced write (one fsync) of the session store", buckets: SECONDS, registers });
    this.storeWriteBatchEvents = new Histogram({ name: "oma_store_write_batch_events", help: "Events per synced write: group commit lets concurrent appends share one fsync", buckets: BATCH_EVENTS, registers });
    this.eventsAppended = new Counter({ name: "oma_events_appended_total", help: "Events appended, by payload kind", labelNames: ["kind"], registers });
    this.watchers = new Gauge({ name: "oma_session_watchers", help: "Open watches of session logs", registers });
    this.leaseOperations = new Counter({ name: "oma_lease_operations_total", help: "Lease acquisitions, renewals and releases, by outcome (ok or the error reason)", labelNames: ["operation", "outcome"], registers });
    this.toolDuration = new Histogram({ name: "oma_tool_duration_seconds", help: "Tool calls run in sandboxes, by tool, backend and outcome (ok, error, timeout)", labelNames: ["tool", "backend", "outcome"], buckets: SECONDS, registers });
    this.modelTokens = new Counter({ name: "oma_model_tokens_total", help: "Model tokens recorded in model_usage events, by model and type", labelNames: ["model", "type"], registers });
    this.modelCallDuration = new Histogram({ name: "oma_model_call_duration_seconds", help: "Model call durations recorded in model_usage events", labelNames: ["model"], buckets: SECONDS, registers });
    this.sessionErrors = new Counter({ name: "oma_session_errors_total", help: "error events appended to session logs, by code and whether the brain retries", labelNames: ["code", "retryable"], registers });
    this.retries = new Counter({ name: "oma_retries_total", help: "Retried failures (error events with retryable = true), by code", labelNames: ["code"], registers });
    this.rewakes = new Counter({ name: "oma_rewakes_total", help: "Sessions handed to a successor brain after their brain's lease ended with work left", registers });
    const fleet = () => this.#fleet;
    new Gauge({ name: "oma_brains", help: "Live brains (sessions whose woken brain holds its lease)", registers, collect() { this.set(fleet().harness?.().brains ?? 0); } });
    new Gauge({ name: "oma_dispatch_queue_depth", help: "Woken brains waiting for a worker with room", registers, collect() { this.set(fleet().harness?.().waiting ?? 0); } });
    new Gauge({ name: "oma_workers_connected", help: "Workers holding a ConnectWorker stream open", registers, collect() { this.set(fleet().harness?.().workers ?? 0); } });
    new Gauge({
      name: "oma_sandboxes",
      help: "Live sandboxes by backend and state",
      labelNames: ["backend", "state"],
      registers,
      collect() {
        this.reset();
        for (const s of fleet().sandboxes?.() ?? []) this.set({ backend: s.backend, state: s.state }, s.count);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "oma_" });
  }

  /** Connects the scrape-time gauges to the parts that know the answers. */
  observeFleet(gauges: FleetGauges): void {
    this.#fleet = { ...this.#fleet, ...gauges };
  }

  /** The exposition, in Prometheus text format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
