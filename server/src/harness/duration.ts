import { create } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";

/**
 * A google.protobuf.Duration of `ms` milliseconds, nanos rounded: protobuf-es's own
 * durationFromMs keeps the fraction of a measured time (performance.now) in nanos, which
 * its int32 encoder then refuses.
 */
export function durationFromMs(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(whole), nanos: Math.round((ms - whole * 1000) * 1e6) });
}

/** Milliseconds of a Duration, 0 when unset (protobuf-es's durationMs needs one). */
export function durationMs(d: Duration | undefined): number {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : 0;
}
