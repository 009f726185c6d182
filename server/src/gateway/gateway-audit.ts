import type { Logger } from "../logger.js";

/** Why the gateway refused a sandbox's request. */
export type DenyReason = "no_network" | "not_allowed" | "refused_address" | "not_wired" | "credential_missing" | "credential_mismatch";

export interface DeniedRequest {
  readonly tenant: string;
  readonly sandboxId: string;
  /** What was asked for: `host:port` for egress, the repository route for git. */
  readonly target: string;
  readonly reason: DenyReason;
}

/**
 * What operators see of the gateways: every refused request is a warning in the log and a
 * count by reason (read by the metrics exporter at scrape time), so a sandbox probing for
 * a way out is visible. Targets are logged; credentials never are.
 */
export class GatewayAudit {
  readonly #log: Logger;
  readonly #denied = new Map<DenyReason, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  denied(d: DeniedRequest, detail: string): void {
    this.#denied.set(d.reason, (this.#denied.get(d.reason) ?? 0) + 1);
    this.#log.warn({ tenant: d.tenant, sandboxId: d.sandboxId, target: d.target, reason: d.reason, detail }, "gateway denied a sandbox request");
  }

  /** Refused requests since start, by reason. */
  deniedCounts(): ReadonlyMap<DenyReason, number> {
    return new Map(this.#denied);
  }
}
