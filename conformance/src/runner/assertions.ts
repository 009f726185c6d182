import { RpcFailure } from "../client/rpc-failure.js";

/** A case's check did not hold; the message says what was expected and what came. */
export class CaseFailure extends Error {
  override readonly name = "CaseFailure";
}

/** The case cannot run against this target (a missing capability); reported as skipped with the reason. */
export class CaseSkipped extends Error {
  override readonly name = "CaseSkipped";
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

/** Compares with int64 values (bigint) and numbers treated alike. */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(normalize(actual), normalize(expected))) {
    throw new CaseFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function checkDeepEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual, (_, v: unknown) => normalize(v));
  const e = JSON.stringify(expected, (_, v: unknown) => normalize(v));
  if (a !== e) throw new CaseFailure(`${what}: expected ${e}, got ${a}`);
}

export interface ExpectedFailure {
  readonly code: string;
  readonly reason?: string;
  /** The field the error must name (metadata `field` or a BadRequest violation). */
  readonly field?: string;
}

/**
 * Awaits a call that must fail with the given code and reason (WIRE-3: every error
 * carries ErrorInfo with domain oma.dev). Returns the failure for further checks.
 */
export async function expectFailure(call: Promise<unknown> | (() => Promise<unknown>), expected: ExpectedFailure, what: string): Promise<RpcFailure> {
  let failure: unknown;
  try {
    await (typeof call === "function" ? call() : call);
  } catch (err) {
    failure = err;
  }
  if (failure === undefined) throw new CaseFailure(`${what}: expected ${expected.code}/${expected.reason ?? "*"}, but the call succeeded`);
  if (!(failure instanceof RpcFailure)) throw failure;
  const want = `${expected.code}/${expected.reason ?? "*"}${expected.field ? ` field=${expected.field}` : ""}`;
  const mismatch =
    failure.codeName !== expected.code ||
    (expected.reason !== undefined && failure.reason !== expected.reason) ||
    (expected.reason !== undefined && failure.domain !== "oma.dev") ||
    (expected.field !== undefined && !fieldMatches(failure, expected.field));
  if (mismatch) throw new CaseFailure(`${what}: expected ${want}, got ${failure.describe()} domain=${failure.domain || "<none>"}`);
  return failure;
}

/** A field matches when metadata `field` or a BadRequest violation names it (or a sub-path of it). */
function fieldMatches(failure: RpcFailure, field: string): boolean {
  const named = [failure.metadata["field"], ...failure.badRequestFields].filter((f): f is string => !!f);
  return named.some((f) => f === field || f.startsWith(field + ".") || f.startsWith(field + "["));
}

function normalize(v: unknown): unknown {
  return typeof v === "bigint" ? Number(v) : v;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
