import type { GetServerInfoResponse, Limits } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import type { Protocol, RpcClient } from "../client/rpc-client.js";
import type { HarnessFixture } from "./harness-fixture.js";

/** RFC 2119 level of the SPEC clause a case checks. */
export type Level = "MUST" | "SHOULD" | "MAY";

/**
 * The feature a case needs. `core` applies to every implementation (WIRE-*); the others
 * are the feature names of SPEC.md that an implementation claims in GetServerInfo.
 */
export type Feature =
  | "core"
  | "session.core"
  | "session.leases"
  | "session.append_stream"
  | "sandbox.core"
  | "sandbox.stream"
  | "sandbox.isolation"
  | "harness.core"
  | "harness.auto_rewake"
  | "harness.context"
  | "auth.tokens"
  | "vault.credentials"
  | "sandbox.repositories"
  | "sandbox.egress"
  | "sandbox.disk"
  | "harness.mcp";

/** One conformance check, tied to one SPEC clause. */
export interface ConformanceCase {
  /** Unique, stable: `<family>/<requirement>/<slug>`, e.g. `session/SESS-2/stale-head-rejected`. */
  readonly id: string;
  /** The SPEC.md clause id, e.g. `SESS-2`. */
  readonly requirement: string;
  readonly level: Level;
  readonly feature: Feature;
  /** What the case checks, in one line. */
  readonly title: string;
  /** Its bound before --timeout-scale; default 15 s. */
  readonly timeoutMs?: number;
  /** Extra needs beyond the feature; the case is skipped (with this reason) when unmet. */
  readonly needs?: readonly ("secret" | "harness" | "restart" | "two-targets")[];
  /**
   * Runs alone, after every other case: fault injection (killing a worker) must not take
   * down brains that other cases rely on.
   */
  readonly exclusive?: boolean;
  run(ctx: CaseContext): Promise<void>;
}

/** A second server of the target's system (`--target A --target B`): both serve one store. */
export interface OtherTarget {
  readonly rpc: RpcClient;
  readonly targetUrl: string;
  /** Opens another client of this server, as CaseContext.newClient does for the first. */
  newClient(protocol?: Protocol, token?: string): RpcClient;
  readonly info: GetServerInfoResponse;
}

/** What a case gets: a client for the target and what the target declared. */
export interface CaseContext {
  readonly rpc: RpcClient;
  /** The target's base URL. */
  readonly targetUrl: string;
  /**
   * Opens another client (its own connection), e.g. for a second lease holder; over the
   * run's protocol unless one is named (every implementation serves gRPC, WIRE-1), with
   * the run's token unless another is given ("" for none).
   */
  newClient(protocol?: Protocol, token?: string): RpcClient;
  /** The bearer token the run was given (what `rpc` sends); undefined without one. */
  readonly token: string | undefined;
  readonly info: GetServerInfoResponse;
  readonly limits: Limits;
  /** A resource id unique in this run (and across runs), with the given prefix. */
  uniqueId(prefix: string): string;
  /** A duration scaled by --timeout-scale. */
  scaled(ms: number): number;
  /** Aborted when the case's time is up; pass it to every stream and wait. */
  readonly signal: AbortSignal;
  /** The value the target holds in OMA_CONFORMANCE_SECRET, when the run was given --secret. */
  readonly secret: string | undefined;
  /** The target's data directory, when the runner was told it (--target-data-dir). */
  readonly dataDir: string | undefined;
  /** Present when the run can drive a brain with the scripted model. */
  readonly harness: HarnessFixture | undefined;
  /**
   * Kills the target (SIGKILL when the runner launched it) and starts it again on the same
   * data and URL; present when the run can restart the target (cases with needs "restart").
   */
  readonly restartTarget: (() => Promise<void>) | undefined;
  /** The second target, when the run was given two (cases with needs "two-targets"). */
  readonly other: OtherTarget | undefined;
  /** Records a note shown in the report next to the case. */
  note(text: string): void;
  /**
   * The outcome of `observe`, made once per run for `key` and shared by every case that
   * asks: for a costly observation several requirements judge (SEC-1 and SEC-2 judge one
   * battery per backend). It runs with the context, and so within the time, of the first
   * case that asks.
   */
  once<T>(key: string, observe: () => Promise<T>): Promise<T>;
}

/** The outcome of one case. */
export type CaseStatus = "passed" | "failed" | "skipped" | "expected-failure" | "unexpected-pass";

export interface CaseResult {
  readonly id: string;
  readonly requirement: string;
  readonly level: Level;
  readonly feature: Feature;
  readonly title: string;
  readonly status: CaseStatus;
  readonly durationMs: number;
  /** Why it failed or was skipped. */
  readonly message?: string;
  readonly notes: readonly string[];
}
