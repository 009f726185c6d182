import { randomBytes } from "node:crypto";
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Context, type Tracer } from "@opentelemetry/api";
import { BasicTracerProvider, SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { omaSampler, samplerFor, STANDALONE_CALL_RATIO } from "./sampler.js";

const traceId = () => randomBytes(16).toString("hex");
const sampler = omaSampler();
const recorded = (name: string, kind: SpanKind, parent: Context = ROOT_CONTEXT, id = traceId()) =>
  sampler.shouldSample(parent, id, name, kind, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
const share = (name: string, n: number) => {
  let hits = 0;
  for (let i = 0; i < n; i++) if (recorded(name, SpanKind.SERVER)) hits++;
  return hits / n;
};
const parentOf = (flags: TraceFlags): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId: traceId(), spanId: randomBytes(8).toString("hex"), traceFlags: flags, isRemote: true });

describe("OMA's sampler", () => {
  it("records one in a hundred stand-alone emits and reads, by trace id", () => {
    // 20,000 draws at p = 0.01: 200 expected, standard deviation 14.
    for (const name of ["oma.v1.SessionService/EmitEvent", "oma.v1.SessionService/EmitEvents", "oma.v1.SessionService/GetEvents", "oma.v1.SessionService/WatchEvents", "oma.v1.SessionService/GetSession", "oma.v1.SessionService/ListSessions", "oma.v1.HarnessService/ListHarnesses", "oma.v1.SandboxService/ListSandboxes"]) {
      const s = share(name, 20_000);
      expect(s, name).toBeGreaterThan(STANDALONE_CALL_RATIO / 2);
      expect(s, name).toBeLessThan(STANDALONE_CALL_RATIO * 2);
    }
    // The same trace id gets the same answer (a trace is recorded whole or not at all).
    const id = traceId();
    const first = recorded("oma.v1.SessionService/EmitEvent", SpanKind.SERVER, ROOT_CONTEXT, id);
    for (let i = 0; i < 10; i++) expect(recorded("oma.v1.SessionService/EmitEvent", SpanKind.SERVER, ROOT_CONTEXT, id)).toBe(first);
  });

  it("records every trace that a session's work or a change starts", () => {
    for (const name of ["oma.v1.HarnessService/Wake", "oma.v1.SessionService/CreateSession", "oma.v1.SessionService/DeleteSession", "oma.v1.SessionService/AppendEvents", "oma.v1.SandboxService/Execute", "oma.v1.SandboxService/Provision", "oma.v1.TokenService/CreateToken", "oma.rewake"]) {
      expect(share(name, 500), name).toBe(1);
    }
    // Only the server span of a per-event RPC is sampled: a brain's root span is not.
    for (let i = 0; i < 500; i++) expect(recorded("oma.v1.SessionService/EmitEvent", SpanKind.INTERNAL)).toBe(true);
  });

  it("follows the caller's decision inside a trace", () => {
    for (let i = 0; i < 500; i++) {
      expect(recorded("oma.v1.SessionService/EmitEvent", SpanKind.SERVER, parentOf(TraceFlags.SAMPLED))).toBe(true);
      expect(recorded("oma.v1.SessionService/GetEvents", SpanKind.SERVER, parentOf(TraceFlags.SAMPLED))).toBe(true);
      expect(recorded("oma.v1.HarnessService/Wake", SpanKind.SERVER, parentOf(TraceFlags.NONE))).toBe(false);
    }
  });

  it("gives way to OTEL_TRACES_SAMPLER, built as the official SDK builds it from the environment", () => {
    expect(samplerFor({}).toString()).toBe(omaSampler().toString());
    const cases: Record<string, string>[] = [
      { OTEL_TRACES_SAMPLER: "always_on" },
      { OTEL_TRACES_SAMPLER: "always_off" },
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.3" },
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "7" },
      { OTEL_TRACES_SAMPLER: "traceidratio" },
      { OTEL_TRACES_SAMPLER: "parentbased_always_on" },
      { OTEL_TRACES_SAMPLER: "parentbased_always_off" },
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" },
      { OTEL_TRACES_SAMPLER: "no_such_sampler" },
    ];
    for (const env of cases) {
      const warnings: string[] = [];
      // Both make root spans with the trace id the test picks.
      let id = traceId();
      const idGenerator = { generateTraceId: () => id, generateSpanId: () => randomBytes(8).toString("hex") };
      const ours = new BasicTracerProvider({ sampler: samplerFor(env, (m) => warnings.push(m)), idGenerator }).getTracer("t");
      const saved = { ...process.env };
      Object.assign(process.env, env);
      let sdk: Tracer;
      try {
        sdk = new BasicTracerProvider({ idGenerator }).getTracer("t"); // reads OTEL_TRACES_SAMPLER itself
      } finally {
        for (const key of Object.keys(env)) delete process.env[key];
        Object.assign(process.env, saved);
      }
      const label = JSON.stringify(env);
      expect(warnings.length > 0, label).toBe(env["OTEL_TRACES_SAMPLER"] === "no_such_sampler" || (env["OTEL_TRACES_SAMPLER"]!.endsWith("traceidratio") && !(Number(env["OTEL_TRACES_SAMPLER_ARG"]) <= 1)));
      for (const parent of [ROOT_CONTEXT, parentOf(TraceFlags.SAMPLED), parentOf(TraceFlags.NONE)]) {
        for (let i = 0; i < 100; i++) {
          id = traceId();
          const decide = (tracer: Tracer) => tracer.startSpan("oma.v1.SessionService/GetEvents", { kind: SpanKind.SERVER }, parent).isRecording();
          expect(decide(ours), label).toBe(decide(sdk));
        }
      }
    }
  });
});
