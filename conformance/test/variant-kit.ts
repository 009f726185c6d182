// The parts every broken variant is made of: a one-defect wrapper around a real service.
import type { ServiceWrappers, SessionImpl } from "./variant-server.js";
import type { ServerLimits } from "../../server/src/limits.js";
import type { Protocol } from "../src/client/rpc-client.js";

export interface BrokenVariant extends ServiceWrappers {
  readonly name: string;
  /** Requirement ids the suite must report failed against this variant. */
  readonly breaks: readonly string[];
  /** Families or features to run against it (enough to catch the defect, kept small for time). */
  readonly profile: readonly string[];
  /** True when it needs a sandbox backend. */
  readonly needsSandbox?: boolean;
  /** True when it needs the harness part, brain workers and the scripted model. */
  readonly needsHarness?: boolean;
  /** True when it serves HarnessService without brains of its own (the suite connects its own worker). */
  readonly servesHarness?: boolean;
  /** Limits reported by GetServerInfo instead of the ones in force. */
  readonly reportedLimits?: Partial<ServerLimits>;
  /**
   * Served as two servers over one store, the run's shared 3-node JetStream cluster, both
   * given to the suite (`--target A --target B`), with the first server's admin token
   * (tokens are on the cluster too). Wrappers are applied to each server apart, so what a
   * wrapper keeps in memory is that server's alone.
   */
  readonly twoServers?: boolean;
  /** Extra arguments for the brain workers (`oma worker …`). */
  readonly workerArgs?: string;
  /**
   * Served as a process of its own, restarted with SIGKILL (variant-process.ts), with the
   * reference's storage delay hook set to widen the window a kill -9 must land in.
   */
  readonly ownProcess?: { readonly storageDelayMs: number };
  /**
   * The protocol the suite speaks to it (default gRPC): a defect that only one protocol's
   * stack lets through, e.g. a handler that ignores its deadline, which the reference's gRPC
   * transport (@grpc/grpc-js) ends by itself while connect-node leaves it to the handler.
   */
  readonly protocol?: Protocol;
}

type Impl = Record<string, (...args: never[]) => unknown>;
export const call = <T>(impl: unknown, method: string, ...args: unknown[]): T => (impl as Record<string, (...a: unknown[]) => T>)[method]!(...args);

/** Replaces one method of a service, keeping every other method real. */
export function patch<S>(real: S, method: string, fn: (orig: (...a: unknown[]) => unknown) => (...a: never[]) => unknown): S {
  const orig = (real as Impl)[method]!.bind(real) as (...a: unknown[]) => unknown;
  return { ...real, [method]: fn(orig) } as S;
}

/** Re-yields a server stream through `transform` (which may drop, hold or reorder messages). */
export async function* restream<T>(source: AsyncIterable<T>, transform: (msg: T, out: T[]) => void): AsyncGenerator<T> {
  for await (const msg of source) {
    const out: T[] = [];
    transform(msg, out);
    yield* out;
  }
}

/** Rewrites events on their way into the log (harness variants: the brain itself runs out of process). */
export const rewriteEmits = (real: SessionImpl, rewrite: (event: { payload: { case?: string; value?: unknown } }) => unknown): SessionImpl => {
  const one = (e: unknown) => rewrite(e as { payload: { case?: string; value?: unknown } }) ?? e;
  return patch(
    patch(real, "emitEvent", (orig) => (req: never, ctx: never) => orig({ ...(req as object), event: one((req as { event: unknown }).event) }, ctx)),
    "emitEvents",
    (orig) => (req: never, ctx: never) => orig({ ...(req as object), events: (req as { events: unknown[] }).events.map(one) }, ctx),
  );
};
export const asCustom = (type: string) => ({ payload: { case: "custom", value: { type } } });
