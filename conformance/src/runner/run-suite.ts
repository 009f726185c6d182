import { randomBytes } from "node:crypto";
import { ServerInfoService, type GetServerInfoResponse } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { createRpcClient } from "../client/create-client.js";
import type { Protocol, RpcClient } from "../client/rpc-client.js";
import { RpcFailure } from "../client/rpc-failure.js";
import { allCases } from "../cases/all-cases.js";
import { CaseFailure, CaseSkipped } from "./assertions.js";
import type { CaseContext, CaseResult, ConformanceCase, Feature, OtherTarget } from "./case.js";
import type { HarnessFixture } from "./harness-fixture.js";
import { exitCodeOf, REPORT_VERSION, summarize, type SkippedFamily, type SuiteReport } from "./report.js";
import { matches, select } from "./select.js";
import { randomSeed, shuffle } from "./seeded-order.js";
import { SUITE_VERSION } from "../version.js";

export interface SuiteOptions {
  /** Base URL of the implementation, e.g. http://127.0.0.1:7070. */
  readonly target: string;
  /**
   * A second server of the same system, over the same store (`--target A --target B`):
   * the cross-server cases need it and are skipped without it. The run's token is sent to both.
   */
  readonly otherTarget?: string;
  readonly protocol?: Protocol;
  /** Families or features to run (session, sandbox, harness, wire, security, or a feature name). */
  readonly profile?: readonly string[];
  readonly run?: readonly string[];
  readonly skip?: readonly string[];
  /** Multiplies every bound (case timeouts, waits). Default 1. */
  readonly timeoutScale?: number;
  /** Seed of the random case order; random when unset (the report records it). */
  readonly seed?: number;
  /** Case ids or patterns expected to fail. */
  readonly expectedFailures?: readonly string[];
  /** The bearer token every call carries (SEC-4); an admin token lets the suite mint the others it needs. */
  readonly token?: string;
  /** The value of OMA_CONFORMANCE_SECRET in the target's environment (SEC-1). */
  readonly secret?: string;
  /** The target's data directory, so the battery can try to read it from a sandbox. */
  readonly targetDataDir?: string;
  /** A failed SHOULD fails the run. */
  readonly strict?: boolean;
  /** Cases in flight at once. Default 4. */
  readonly concurrency?: number;
  readonly harness?: HarnessFixture;
  /** Restarts the target on the same data and URL (for durability cases); they are skipped without it. */
  readonly restartTarget?: () => Promise<void>;
  /** Called with each result as it is known. */
  readonly onResult?: (result: CaseResult) => void;
  /** Replaces the built-in cases (tests of the runner itself). */
  readonly cases?: readonly ConformanceCase[];
}

/** The run itself could not happen (target unreachable, bad options): exit 2, never a test failure. */
export class RunBroken extends Error {
  override readonly name = "RunBroken";
}

const DEFAULT_CASE_TIMEOUT_MS = 15_000;

/** Runs the suite against a target and returns the report; the CLI and the tests both use it. */
export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  const protocol = options.protocol ?? "grpc";
  const scale = options.timeoutScale ?? 1;
  if (!(scale > 0)) throw new RunBroken(`--timeout-scale must be positive, got ${scale}`);
  const target = parseTarget(options.target);
  const otherTarget = options.otherTarget === undefined ? undefined : parseTarget(options.otherTarget);
  if (options.secret !== undefined && !/^[A-Za-z0-9._-]{6,128}$/.test(options.secret)) {
    throw new RunBroken("--secret must be 6–128 characters of [A-Za-z0-9._-] (it is placed in shell commands inside the sandbox)");
  }
  const seed = options.seed ?? randomSeed();
  const start = Date.now();
  const rpc = createRpcClient(target, protocol, options.token);
  const extraClients: RpcClient[] = [];
  const clientOf = (url: string) => (which?: Protocol, token?: string) => {
    const client = createRpcClient(url, which ?? protocol, token ?? options.token);
    extraClients.push(client);
    return client;
  };
  try {
    const info = await fetchServerInfo(rpc, scale);
    const other = otherTarget === undefined ? undefined : await openOtherTarget(otherTarget, clientOf(otherTarget), scale);
    const declared = new Set<string>(["core", ...info.features]);
    const selected = select(options.cases ?? allCases, options);
    const deselected = (options.cases ?? allCases).length - selected.length;
    const ordered = shuffle(selected, seed);
    const runTag = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    let counter = 0;
    const observations = new Map<string, Promise<unknown>>();
    const once = <T>(key: string, observe: () => Promise<T>): Promise<T> => {
      if (!observations.has(key)) observations.set(key, observe());
      return observations.get(key) as Promise<T>;
    };

    const skipReason = (c: ConformanceCase): { family: string; reason: string } | undefined => {
      if (!declared.has(c.feature)) return { family: c.feature, reason: `the target does not declare feature ${c.feature}` };
      for (const need of c.needs ?? []) {
        if (need === "secret" && options.secret === undefined)
          return { family: "secret", reason: "the run was not given --secret (start the target with OMA_CONFORMANCE_SECRET=<value>)" };
        if (need === "restart" && options.restartTarget === undefined)
          return { family: "restart", reason: "the runner cannot restart the target: start it with --target-cmd using {port} for its port" };
        if (need === "harness" && options.harness === undefined)
          return { family: "harness-fixture", reason: "no scripted model: start the target with --target-cmd so the runner can point it at one" };
        if (need === "two-targets" && other === undefined)
          return { family: "two-targets", reason: "the run was given one target: give two servers of one system, over one store, with --target A --target B" };
      }
      return undefined;
    };

    const runOne = async (c: ConformanceCase): Promise<CaseResult> => {
      const base = { id: c.id, requirement: c.requirement, level: c.level, feature: c.feature, title: c.title };
      const notes: string[] = [];
      const skip = skipReason(c);
      if (skip) return { ...base, status: "skipped", durationMs: 0, message: skip.reason, notes };
      const abort = new AbortController();
      const timeoutMs = (c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) * scale;
      const ctx: CaseContext = {
        rpc,
        targetUrl: target,
        token: options.token,
        newClient: clientOf(target),
        other,
        info,
        limits: info.limits!,
        uniqueId: (prefix) => `${prefix}-${runTag}-${(++counter).toString(36)}`,
        scaled: (ms) => ms * scale,
        signal: abort.signal,
        secret: options.secret,
        dataDir: options.targetDataDir,
        harness: options.harness,
        restartTarget: options.restartTarget,
        note: (text) => void notes.push(text),
        once,
      };
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort();
          reject(new CaseFailure(`did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      let failure: string | undefined;
      let skipped: string | undefined;
      try {
        await Promise.race([c.run(ctx), timeout]);
      } catch (err) {
        if (err instanceof CaseSkipped) skipped = err.message;
        else failure = describeError(err);
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
      const durationMs = Date.now() - t0;
      if (skipped !== undefined) return { ...base, status: "skipped", durationMs, message: skipped, notes };
      const expected = options.expectedFailures?.some((p) => matches(c, p)) ?? false;
      if (failure !== undefined) {
        return { ...base, status: expected ? "expected-failure" : "failed", durationMs, message: failure, notes };
      }
      return { ...base, status: expected ? "unexpected-pass" : "passed", durationMs, notes };
    };

    const results: CaseResult[] = [];
    const record = (result: CaseResult) => {
      results.push(result);
      options.onResult?.(result);
    };
    const queue = ordered.filter((c) => !c.exclusive);
    const workers = Array.from({ length: Math.max(1, options.concurrency ?? 4) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) record(await runOne(c));
    });
    await Promise.all(workers);
    for (const c of ordered.filter((c) => c.exclusive)) record(await runOne(c));
    results.sort((a, b) => ordered.findIndex((c) => c.id === a.id) - ordered.findIndex((c) => c.id === b.id));

    const skippedFamilies = new Map<string, SkippedFamily>();
    for (const c of ordered) {
      const skip = skipReason(c);
      if (!skip) continue;
      const prev = skippedFamilies.get(skip.family);
      skippedFamilies.set(skip.family, { name: skip.family, reason: skip.reason, cases: (prev?.cases ?? 0) + 1 });
    }
    const summary = summarize(results);
    const strict = options.strict ?? false;
    return {
      reportVersion: REPORT_VERSION,
      suiteVersion: SUITE_VERSION,
      specVersion: "1.0",
      target: options.target,
      ...(options.otherTarget === undefined ? {} : { otherTarget: options.otherTarget }),
      protocol,
      seed,
      strict,
      startTime: new Date(start).toISOString(),
      durationMs: Date.now() - start,
      server: {
        implementation: info.implementation,
        version: info.version,
        specVersion: info.specVersion,
        features: [...info.features],
        sandboxBackends: [...info.sandboxBackends],
      },
      testedFeatures: [...new Set(ordered.map((c) => c.feature))].filter((f) => declared.has(f)) as Feature[],
      skippedFamilies: [...skippedFamilies.values()],
      deselected,
      results,
      summary,
      exitCode: exitCodeOf(summary, strict),
    };
  } finally {
    rpc.close();
    for (const c of extraClients) c.close();
  }
}

/** A target URL without its trailing slash; a malformed one breaks the run. */
function parseTarget(url: string): string {
  try {
    return new URL(url).toString().replace(/\/$/, "");
  } catch {
    throw new RunBroken(`--target is not a URL: ${url}`);
  }
}

/** Connects to the second target; one that does not answer GetServerInfo breaks the run, as the first would. */
async function openOtherTarget(url: string, newClient: (which?: Protocol, token?: string) => RpcClient, scale: number): Promise<OtherTarget> {
  const rpc = newClient();
  const info = await fetchServerInfo(rpc, scale, "the second target's");
  return { rpc, targetUrl: url, newClient, info };
}

async function fetchServerInfo(rpc: RpcClient, scale: number, whose = "the target's"): Promise<GetServerInfoResponse> {
  try {
    const info = await rpc.unary(ServerInfoService.method.getServerInfo, {}, { timeoutMs: 10_000 * scale });
    if (!info.limits) throw new RunBroken("GetServerInfo returned no limits (WIRE-5, WIRE-9); the suite needs them to size its cases");
    return info;
  } catch (err) {
    if (err instanceof RunBroken) throw err;
    const what = err instanceof RpcFailure ? err.describe() : String(err);
    const hint = err instanceof RpcFailure && err.code === 16 ? " (give a bearer token with --token, --token-file or OMA_TOKEN)" : "";
    throw new RunBroken(`cannot reach ${whose} ServerInfoService.GetServerInfo: ${what}${hint}`);
  }
}

function describeError(err: unknown): string {
  if (err instanceof CaseFailure) return err.message;
  if (err instanceof RpcFailure) return `unexpected RPC error ${err.describe()}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
