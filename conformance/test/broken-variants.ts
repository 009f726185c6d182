// Deliberately broken variants of the reference server: each wraps the real services
// with exactly one defect, and names the SPEC clauses the suite must then report.
import { boundaryVariants } from "./boundary-variants.js";
import { clauseVariants } from "./clause-variants.js";
import { durabilityVariants } from "./durability-variants.js";
import { harnessVariants as harnessServiceVariants } from "./harness-variants.js";
import { sandboxVariants } from "./sandbox-variants.js";
import { sessionLogVariants } from "./session-log-variants.js";
import { sessionRuleVariants } from "./session-rule-variants.js";
import type { BrokenVariant } from "./variant-kit.js";
import { vaultVariants } from "./vault-variants.js";
import { gatewayVariants } from "./gateway-variants.js";
import { mcpVariants } from "./mcp-variants.js";
import { authVariants } from "./auth-variants.js";
import { crossServerVariants } from "./cross-server-variants.js";

export type { BrokenVariant } from "./variant-kit.js";
/** Variants served with brains: harness defects, MCP among them. */
export const harnessVariants: readonly BrokenVariant[] = [...harnessServiceVariants, ...mcpVariants, ...clauseVariants.filter((v) => v.needsHarness)];

/** Variants served without brains: session and sandbox defects. */
export const brokenVariants: readonly BrokenVariant[] = [...sessionLogVariants, ...sessionRuleVariants, ...boundaryVariants, ...durabilityVariants, ...sandboxVariants, ...vaultVariants, ...gatewayVariants, ...authVariants, ...crossServerVariants, ...clauseVariants.filter((v) => !v.needsHarness)];

/**
 * MUST clauses of SPEC.md that no variant breaks, and why; the coverage test prints them
 * and fails on any other MUST clause without a variant.
 */
export const clausesWithoutVariant: Readonly<Record<string, string>> = {
  "WIRE-1": "serving gRPC (and Connect, gRPC-Web) is the RPC framework's; a service wrapper cannot break it — every case runs over it",
  "WIRE-2": "a property of the protos, checked when the Python and Go code is generated and compiled (npm test), not of a running server",
  "HARN-3": "the worker protocol from outside is harness/HARN-17/suite-worker-runs-a-brain, whose variant is listed under HARN-17",
  "HARN-6": "shown by harness/HARN-5/brain-killed-mid-tool (the tool runs once), whose variant is listed under HARN-5",
  "HARN-18": "a brain's idempotency keys are not visible from outside the server; the reference brain's own tests kill it around its appends (brain-crash.test.ts)",
  "SEC-3": "the vault's rule as a whole; the suite tests its parts, each with caught variants: SEC-11 (write-only, sealed at rest, per tenant), SEC-12 (a repository's token unreachable from the sandbox), SEC-14 (MCP through the proxy)",
};

/** MUST cases no variant breaks yet, and why; the coverage test prints them and fails on any other gap. */
export const notYetCovered: Readonly<Record<string, string>> = {
  "wire/WIRE-7/unknown-method": "the RPC framework answers unknown methods; a service wrapper cannot break it",
  "harness/SEC-14/mcp-server-down-is-a-tool-error": "a brain that ends its session on a down MCP server is the brain's defect; wrappers of the services cannot make the reference brain do that",
};
