import type { DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { HarnessService } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { ServerInfoService } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { VaultService } from "@oma/client/gen/oma/v1/vault_service_pb.js";
import { SpanKind, type Context } from "@opentelemetry/api";
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from "@opentelemetry/sdk-trace-base";
import { procedureName } from "../rpc/procedure-name.js";

/**
 * The share of stand-alone reads and emits that start a recorded trace: one in a hundred.
 * Calls inside a trace are not counted here: they follow their caller's decision.
 */
export const STANDALONE_CALL_RATIO = 0.01;

/**
 * The RPCs a client makes once per event or per look: every read the protocol marks
 * `NO_SIDE_EFFECTS` (GetSession, GetEvents, WatchEvents, the lists…) and the client's
 * EmitEvent and EmitEvents.
 */
function perEventProcedures(services: readonly DescService[]): Set<string> {
  const names = new Set<string>();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) names.add(procedureName(method));
    }
  }
  names.add(procedureName(SessionService.method.emitEvent));
  names.add(procedureName(SessionService.method.emitEvents));
  return names;
}

const RECORD: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });

/** Decides the spans that start a trace: see `omaSampler`. */
class StandaloneCallSampler implements Sampler {
  readonly #perEvent = perEventProcedures([SessionService, HarnessService, SandboxService, ServerInfoService, TokenService, VaultService]);
  readonly #ratio: TraceIdRatioBasedSampler;

  constructor(ratio: number) {
    this.#ratio = new TraceIdRatioBasedSampler(ratio);
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind): SamplingResult {
    return spanKind === SpanKind.SERVER && this.#perEvent.has(spanName) ? this.#ratio.shouldSample(context, traceId) : RECORD;
  }

  toString(): string {
    return `OmaStandaloneCalls{${this.#ratio.toString()}}`;
  }
}

/**
 * OMA's default sampler (when `OTEL_TRACES_SAMPLER` is not set). A span inside a trace
 * follows its parent (the official ParentBasedSampler), so a session's turn, which the
 * Wake starts, is recorded whole: the brain's spans and every RPC it makes. A span that
 * starts a trace is recorded, except the server span of a stand-alone per-event RPC
 * (a read or an emit that carries no `traceparent`): one in `ratio` of those, by trace id.
 *
 * Why: recording one span costs the official SDK and its OTLP exporter ~80–145 µs of CPU
 * (the server's threads measured under EmitEvent load; the telemetry README), about a
 * quarter of a stand-alone EmitEvent's; `npm run bench telemetry` prints the rate both
 * ways. Such a call is one span with no children; its rate, latency and outcome are in
 * the metrics (`oma_rpc_*`). It is what per-operation sampling in tracing back ends does
 * for high-rate endpoints. `OTEL_TRACES_SAMPLER=parentbased_always_on` records every call.
 */
export function omaSampler(ratio = STANDALONE_CALL_RATIO): Sampler {
  return new ParentBasedSampler({ root: new StandaloneCallSampler(ratio) });
}

/** The standard `OTEL_TRACES_SAMPLER` names and the official samplers they stand for. */
const STANDARD_SAMPLERS: Readonly<Record<string, (ratio: () => number) => Sampler>> = {
  always_on: () => new AlwaysOnSampler(),
  always_off: () => new AlwaysOffSampler(),
  traceidratio: (ratio) => new TraceIdRatioBasedSampler(ratio()),
  parentbased_always_on: () => new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  parentbased_always_off: () => new ParentBasedSampler({ root: new AlwaysOffSampler() }),
  parentbased_traceidratio: (ratio) => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) }),
};

/**
 * The sampler the process traces with: OMA's (`omaSampler`), unless the standard
 * `OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG`) names one, read as the official SDK
 * reads them: a ratio that is blank or outside [0, 1] is 1, an unknown name is
 * `parentbased_always_on`, each with a warning. OMA builds it rather than leaving it to the
 * SDK because its late spans (late-span.ts) ask the same sampler ahead of the SDK.
 */
export function samplerFor(env: NodeJS.ProcessEnv, warn: (message: string) => void = () => undefined): Sampler {
  const name = env["OTEL_TRACES_SAMPLER"]?.trim();
  if (!name) return omaSampler();
  const ratio = (): number => {
    const arg = env["OTEL_TRACES_SAMPLER_ARG"]?.trim();
    const value = arg ? Number(arg) : Number.NaN;
    if (value >= 0 && value <= 1) return value;
    warn(`OTEL_TRACES_SAMPLER_ARG ${arg ? `"${arg}" is not a ratio in [0, 1]` : "is blank"}; sampling with ratio 1`);
    return 1;
  };
  const standard = STANDARD_SAMPLERS[name];
  if (standard) return standard(ratio);
  warn(`OTEL_TRACES_SAMPLER "${name}" is not one of ${Object.keys(STANDARD_SAMPLERS).join(", ")}; sampling with parentbased_always_on`);
  return STANDARD_SAMPLERS["parentbased_always_on"]!(ratio);
}
