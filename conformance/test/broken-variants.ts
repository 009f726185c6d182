// Deliberately broken variants of the reference server: each wraps the real services
// with exactly one defect, and names the SPEC clauses the suite must then report.
import { boundaryVariants } from "./boundary-variants.js";
import { harnessVariants } from "./harness-variants.js";
import { sandboxVariants } from "./sandbox-variants.js";
import { sessionLogVariants } from "./session-log-variants.js";
import { sessionRuleVariants } from "./session-rule-variants.js";
import type { BrokenVariant } from "./variant-kit.js";

export type { BrokenVariant } from "./variant-kit.js";
export { harnessVariants };

/** Variants served without brains: session and sandbox defects. */
export const brokenVariants: readonly BrokenVariant[] = [...sessionLogVariants, ...sessionRuleVariants, ...boundaryVariants, ...sandboxVariants];

/** MUST cases no variant breaks yet, and why; the coverage test prints them and fails on any other gap. */
export const notYetCovered: Readonly<Record<string, string>> = {
  "session/SESS-5/acked-appends-survive-kill": "acknowledging before the sync shows only under kill -9 of an out-of-process server",
  "wire/WIRE-7/unknown-method": "the RPC framework answers unknown methods; a service wrapper cannot break it",
};
