import type { Duration } from "@bufbuild/protobuf/wkt";
import { invalidField } from "../errors/oma-error.js";

/** WIRE-8: 1–128 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LABEL_KEY = /^[a-z0-9._/-]{1,63}$/;
/** SESS-20: at most 64 labels, values at most 256 bytes. */
export const MAX_LABELS = 64;
export const MAX_LABEL_VALUE_BYTES = 256;
/** SESS-20: idempotency keys are 1–128 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,128}$/;
/** SESS-16: lease holders are 1–128 bytes; TTLs 1 s to 10 min, 30 s when unset. */
export const MAX_HOLDER_BYTES = 128;
export const LEASE_TTL_MIN_MS = 1_000;
export const LEASE_TTL_MAX_MS = 600_000;
export const LEASE_TTL_DEFAULT_MS = 30_000;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

export function requireId(value: string, field: string): string {
  if (value === "") throw invalidField(field, "required", "is required");
  if (!ID.test(value)) throw invalidField(field, "id_grammar", "must be 1–128 characters of [A-Za-z0-9._-], not starting with '.' or '-'", { length: value.length });
  return value;
}

export function validateLabels(labels: Readonly<Record<string, string>>, field: string): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw invalidField(field, "max_labels", `at most ${MAX_LABELS} labels`, { count: entries.length, limit: MAX_LABELS });
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) throw invalidField(field, "label_key", "label keys are 1–63 bytes of [a-z0-9._/-]", { label_key: key.slice(0, 80) });
    if (bytes(value) > MAX_LABEL_VALUE_BYTES) throw invalidField(field, "label_value", `label values are at most ${MAX_LABEL_VALUE_BYTES} bytes`, { label_key: key });
  }
}

export function optionalIdempotencyKey(key: string): string | undefined {
  if (key === "") return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) throw invalidField("idempotency_key", "idempotency_key_grammar", "must be 1–128 printable ASCII characters", { length: key.length });
  return key;
}

/** A non-negative int64 request field as a number; huge values stay huge (only compared). */
export function nonNegative(value: bigint, field: string): number {
  if (value < 0n) throw invalidField(field, "non_negative", "must not be negative", { value: value.toString() });
  return Number(value);
}

export function positive(value: bigint, field: string): number {
  if (value <= 0n) throw invalidField(field, "positive", "must be at least 1", { value: value.toString() });
  return Number(value);
}

export function validateHolder(holder: string): string {
  if (holder === "") throw invalidField("holder", "required", "is required");
  if (bytes(holder) > MAX_HOLDER_BYTES) throw invalidField("holder", "max_bytes", `at most ${MAX_HOLDER_BYTES} bytes`, { limit: MAX_HOLDER_BYTES });
  return holder;
}

export function leaseTtlMs(ttl: Duration | undefined): number {
  if (!ttl) return LEASE_TTL_DEFAULT_MS;
  const ms = Number(ttl.seconds) * 1000 + ttl.nanos / 1e6;
  if (!(ms >= LEASE_TTL_MIN_MS && ms <= LEASE_TTL_MAX_MS) || ttl.nanos < 0 || ttl.nanos > 999_999_999) {
    throw invalidField("ttl", "lease_ttl_range", "must be between 1 s and 10 min", { ttl_ms: ms, min_ms: LEASE_TTL_MIN_MS, max_ms: LEASE_TTL_MAX_MS });
  }
  return ms;
}

/** A request enum must name a known value. */
export function knownEnum<T extends number>(value: T, known: Readonly<Record<string, string | number>>, field: string): T {
  if (!Object.values(known).includes(value)) throw invalidField(field, "enum", "is not a known value", { value });
  return value;
}

/** An id field that may be empty (then undefined); otherwise as requireId. */
export function optionalId(value: string, field: string): string | undefined {
  return value === "" ? undefined : requireId(value, field);
}

/** A string field bounded in UTF-8 bytes. */
export function maxBytes(value: string, limit: number, field: string): void {
  if (value.length * 3 > limit && bytes(value) > limit) throw invalidField(field, "max_bytes", `at most ${limit} bytes`, { limit });
}

/**
 * A Struct (or any JSON value) nested at most `maxDepth` levels deep (WIRE-5): objects and
 * arrays each count one level. Walked without recursion, so a hostile depth costs no stack.
 */
export function structDepth(value: unknown, maxDepth: number, field: string): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > maxDepth) throw invalidField(field, "max_depth", `nested more than ${maxDepth} levels deep`, { limit: maxDepth });
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: depth + 1 });
    }
  }
}

/** A free-form string map (worker labels): at most `maxEntries`, keys and values at most `maxEntryBytes`. */
export function labelsWithin(map: Readonly<Record<string, string>>, maxEntries: number, maxEntryBytes: number, field: string): void {
  const entries = Object.entries(map);
  if (entries.length > maxEntries) throw invalidField(field, "max_items", `at most ${maxEntries} entries`, { count: entries.length, limit: maxEntries });
  for (const [key, value] of entries) {
    if (key === "" || bytes(key) > maxEntryBytes || bytes(value) > maxEntryBytes) {
      throw invalidField(field, "entry_bytes", `keys are 1–${maxEntryBytes} bytes, values at most ${maxEntryBytes}`, { key: key.slice(0, 80) });
    }
  }
}
