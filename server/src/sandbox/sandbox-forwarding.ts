import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { createOmaClient, omaErrorInfo, type OmaClient } from "@oma/client/node";
import type { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { OmaError, type ReasonName } from "../errors/oma-error.js";
import { reasonCodes } from "../errors/reason-codes.js";
import type { Logger } from "../logger.js";
import type { Call, Handlers } from "../rpc/handlers.js";
import type { SandboxLocations, SandboxOwner } from "./sandbox-locations.js";

/** Header a forwarded call carries: the instance id of the server that forwarded it. A forwarded call is never forwarded again. */
export const FORWARDED_BY_HEADER = "oma-forwarded-by";

export interface ForwardingDeps {
  readonly locations: SandboxLocations;
  /** This server's instance id (what `locations` records for its own sandboxes). */
  readonly instanceId: string;
  /** Whether this server holds the sandbox (in any state, of any tenant). */
  readonly holds: (sandboxId: string) => boolean;
  readonly log: Logger;
}

type Sandboxes = Handlers<typeof SandboxService>;

/** Owners of other servers' sandboxes kept in memory, at most. */
const MAX_KNOWN_OWNERS = 10_000;

/**
 * SandboxService on a server of several: a call that names a sandbox another server holds
 * is sent to that server, on the caller's own credentials (valid there: tokens are
 * shared), and its answer or error (code, reason, metadata) returned as it came. The
 * owner checks the caller's tenant and rights as for any call. Calls for sandboxes this
 * server holds, or that no server recorded, run here. An owner that does not answer is
 * `UNAVAILABLE` / `SANDBOX_LOST`, as a sandbox whose environment died (SBX-11): a brain
 * provisions a fresh one.
 */
export function forwardToOwners(local: Sandboxes, deps: ForwardingDeps): Sandboxes {
  const clients = new Map<string, OmaClient>();
  const clientOf = (url: string) => {
    let client = clients.get(url);
    if (!client) clients.set(url, (client = createOmaClient({ baseUrl: url })));
    return client;
  };
  // A sandbox never moves, so its owner is remembered once read (a destroyed one is
  // answered SANDBOX_NOT_FOUND by its owner all the same); the oldest are dropped first.
  const owners = new Map<string, SandboxOwner>();
  /** The other server that holds the sandbox, when the call is to go there. */
  const remoteOwner = async (sandboxId: string, call: Call): Promise<SandboxOwner | undefined> => {
    if (deps.holds(sandboxId) || call.credentials?.forwardedBy !== undefined) return undefined;
    const known = owners.get(sandboxId);
    if (known) return known;
    const owner = await deps.locations.ownerOf(sandboxId);
    if (!owner || owner.instanceId === deps.instanceId) return undefined;
    owners.set(sandboxId, owner);
    if (owners.size > MAX_KNOWN_OWNERS) owners.delete(owners.keys().next().value!);
    return owner;
  };
  const optionsOf = (call: Call): CallOptions => ({
    signal: call.signal,
    headers: {
      [FORWARDED_BY_HEADER]: deps.instanceId,
      ...(call.credentials?.authorization ? { authorization: call.credentials.authorization } : {}),
      ...(call.credentials?.tenant ? { "oma-tenant": call.credentials.tenant } : {}),
    },
  });
  /** Runs the call here, or at the sandbox's owner. */
  const at = async <T>(sandboxId: string, call: Call, here: () => T | Promise<T>, there: (client: OmaClient, options: CallOptions) => Promise<T>): Promise<T> => {
    const owner = await remoteOwner(sandboxId, call);
    if (!owner) return here();
    try {
      return await there(clientOf(owner.url), optionsOf(call));
    } catch (err) {
      throw asOwnError(err, sandboxId, owner, deps.log);
    }
  };
  return {
    ...local,
    execute: (req, call) => at(req.sandboxId, call, () => local.execute(req, call), (c, o) => c.sandboxes.execute(req, o)),
    getSandbox: (req, call) => at(req.sandboxId, call, () => local.getSandbox(req, call), (c, o) => c.sandboxes.getSandbox(req, o)),
    destroySandbox: (req, call) => at(req.sandboxId, call, () => local.destroySandbox(req, call), (c, o) => c.sandboxes.destroySandbox(req, o)),
    renewSandbox: (req, call) => at(req.sandboxId, call, () => local.renewSandbox(req, call), (c, o) => c.sandboxes.renewSandbox(req, o)),
    async *executeStream(req, call) {
      const owner = await remoteOwner(req.sandboxId, call);
      if (!owner) return yield* local.executeStream(req, call);
      try {
        yield* clientOf(owner.url).sandboxes.executeStream(req, optionsOf(call));
      } catch (err) {
        throw asOwnError(err, req.sandboxId, owner, deps.log);
      }
    },
  };
}

/**
 * The owner's error as this server's: an OMA error keeps its reason (so its code) and
 * metadata; an owner that cannot be reached makes the sandbox lost; the caller's own
 * cancellation or deadline stays what it is.
 */
function asOwnError(err: unknown, sandboxId: string, owner: SandboxOwner, log: Logger): unknown {
  const info = omaErrorInfo(err);
  if (info && info.reason in reasonCodes) return new OmaError(info.reason as ReasonName, info.message, info.metadata);
  if (err instanceof ConnectError && (err.code === Code.Canceled || err.code === Code.DeadlineExceeded)) return err;
  log.warn({ sandboxId, owner: owner.instanceId, url: owner.url, code: err instanceof ConnectError ? Code[err.code] : undefined }, "the server that holds the sandbox did not answer");
  return new OmaError("SANDBOX_LOST", `sandbox ${sandboxId} is held by server ${owner.instanceId}, which does not answer`, { sandbox_id: sandboxId, server: owner.instanceId });
}
