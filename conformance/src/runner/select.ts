import type { ConformanceCase } from "./case.js";

/** The family of a case: the first segment of its id (session, sandbox, harness, wire, security). */
export function familyOf(c: ConformanceCase): string {
  return c.id.split("/")[0] ?? c.id;
}

/**
 * A pattern names cases by id (with or without its family prefix), requirement id, family
 * or feature; `*` matches any run of characters. Without `*` it must match a whole id segment prefix, so `SESS-1` does not
 * select SESS-10.
 */
export function matches(c: ConformanceCase, pattern: string): boolean {
  const p = pattern.trim();
  if (p === "") return false;
  if (p.includes("*")) {
    const re = new RegExp("^" + p.split("*").map(escapeRegExp).join(".*") + "$", "i");
    const withinFamily = c.id.slice(familyOf(c).length + 1);
    return re.test(c.id) || re.test(withinFamily) || re.test(c.requirement) || re.test(familyOf(c)) || re.test(c.feature);
  }
  const lower = p.toLowerCase();
  return (
    c.id.toLowerCase() === lower ||
    c.id.toLowerCase().startsWith(lower + "/") ||
    c.requirement.toLowerCase() === lower ||
    c.feature === p
  );
}

export interface Selection {
  /** Families or feature names to run; empty means all. */
  readonly profile?: readonly string[];
  /** Only cases matching one of these. */
  readonly run?: readonly string[];
  /** Never cases matching one of these. */
  readonly skip?: readonly string[];
}

export function select(cases: readonly ConformanceCase[], selection: Selection): ConformanceCase[] {
  const profile = selection.profile?.filter((p) => p !== "" && p !== "all") ?? [];
  return cases.filter(
    (c) =>
      (profile.length === 0 || profile.some((p) => familyOf(c) === p || c.feature === p || c.feature.startsWith(p + "."))) &&
      (!selection.run?.length || selection.run.some((p) => matches(c, p))) &&
      !selection.skip?.some((p) => matches(c, p)),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
