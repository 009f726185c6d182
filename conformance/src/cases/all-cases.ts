import type { ConformanceCase } from "../runner/case.js";
import { emitCases } from "./session/emit-cases.js";
import { appendStreamCases } from "./session/append-stream-cases.js";
import { leaseCases } from "./session/lease-cases.js";
import { lifecycleCases } from "./session/lifecycle-cases.js";
import { listCases } from "./session/list-cases.js";
import { sliceCases } from "./session/slice-cases.js";
import { validationCases } from "./session/validation-cases.js";
import { watchCases } from "./session/watch-cases.js";
import { wireCases } from "./wire/wire-cases.js";
import { pagingCases } from "./wire/paging-cases.js";
import { sandboxCases } from "./sandbox/sandbox-cases.js";
import { streamCases } from "./sandbox/stream-cases.js";
import { securityCases } from "./security/security-cases.js";
import { durabilityCases } from "./session/durability-cases.js";
import { sandboxRestartCases } from "./sandbox/restart-cases.js";
import { harnessCases } from "./harness/harness-cases.js";
import { faultCases } from "./harness/fault-cases.js";
import { livenessCases } from "./harness/liveness-cases.js";
import { leaseEndCases } from "./harness/lease-end-cases.js";
import { workerProtocolCases } from "./harness/worker-protocol-cases.js";
import { staleBrainCases } from "./harness/stale-brain-cases.js";
import { handsCases } from "./harness/hands-cases.js";
import { boundsCases } from "./wire/bounds-cases.js";
import { boundaryCases } from "./session/boundary-cases.js";
import { contextCases } from "./harness/context-cases.js";
import { vaultCases } from "./vault/vault-cases.js";
import { mcpCases } from "./harness/mcp-cases.js";
import { repositoryCases } from "./sandbox/repository-cases.js";
import { egressCases } from "./sandbox/egress-cases.js";
import { authCases } from "./auth/auth-cases.js";
import { tenantCases } from "./auth/tenant-cases.js";
import { sessionTokenCases } from "./auth/session-token-cases.js";
import { diskCases } from "./sandbox/disk-cases.js";
import { kernelCases } from "./security/kernel-cases.js";
import { crossServerCases } from "./cross-server/cross-server-cases.js";
import { crossServerSandboxCases } from "./cross-server/cross-server-sandbox-cases.js";
import { crossServerTokenCases } from "./cross-server/cross-server-token-cases.js";

/** Every case of the suite. Ids are unique; the runner shuffles them with the run's seed. */
export const allCases: readonly ConformanceCase[] = [
  ...emitCases,
  ...appendStreamCases,
  ...validationCases,
  ...lifecycleCases,
  ...sliceCases,
  ...watchCases,
  ...leaseCases,
  ...listCases,
  ...wireCases,
  ...pagingCases,
  ...sandboxCases,
  ...streamCases,
  ...securityCases,
  ...durabilityCases,
  ...sandboxRestartCases,
  ...harnessCases,
  ...faultCases,
  ...livenessCases,
  ...leaseEndCases,
  ...workerProtocolCases,
  ...staleBrainCases,
  ...handsCases,
  ...boundsCases,
  ...boundaryCases,
  ...contextCases,
  ...vaultCases,
  ...mcpCases,
  ...repositoryCases,
  ...egressCases,
  ...authCases,
  ...tenantCases,
  ...sessionTokenCases,
  ...diskCases,
  ...kernelCases,
  ...crossServerCases,
  ...crossServerTokenCases,
  ...crossServerSandboxCases,
];
