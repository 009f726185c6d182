// Broken variants of several servers over one store: each server keeps part of the log's
// rules (or of its tokens') in its own memory instead of reading them from the shared store. Each is served as
// two servers on the run's shared 3-node JetStream cluster (R3), both given to the suite.
import { OmaError } from "../../server/src/errors/oma-error.js";
import { patch, type BrokenVariant } from "./variant-kit.js";
import type { Call } from "../../server/src/rpc/handlers.js";
import type { SessionImpl } from "./variant-server.js";

type Append = { sessionId: string; expectedHeadSeq?: bigint; leaseEpoch?: bigint; idempotencyKey: string };
type Appended = { event?: { id: string; seq: bigint }; events?: { id: string; seq: bigint }[]; duplicate: boolean };
type Orig = (...a: unknown[]) => unknown;

/** Wraps EmitEvent and EmitEvents alike: `fn(request, appendThroughTheRealService)`. */
function onAppends(real: SessionImpl, fn: (req: Append, append: (req: Append) => Promise<Appended>) => Promise<Appended>): SessionImpl {
  const wrapped = (method: string, s: SessionImpl) =>
    patch(s, method, (orig: Orig) => (req: never, ctx: never) => fn(req as Append, (r) => orig(r, ctx) as Promise<Appended>));
  return wrapped("emitEvents", wrapped("emitEvent", real));
}
const appendedEvents = (res: Appended) => res.events ?? (res.event ? [res.event] : []);

export const crossServerVariants: readonly BrokenVariant[] = [
  {
    name: "serves a watch's live events from its own appends only",
    breaks: ["SESS-23"],
    profile: ["cross-server/SESS-23/watch-order-across-servers"],
    twoServers: true,
    session: (real) => {
      // Ids of the events appended through this server: its in-memory feed.
      const mine = new Set<string>();
      const recording = onAppends(real, async (req, append) => {
        const res = await append(req);
        for (const e of appendedEvents(res)) mine.add(e.id);
        return res;
      });
      return patch(recording, "watchEvents", (orig: Orig) => async function* (req: never, ctx: never) {
        let live = false;
        for await (const msg of orig(req, ctx) as AsyncIterable<{ message: { case?: string; value?: { id?: string } } }>) {
          if (msg.message.case === "caughtUp") live = true;
          if (live && msg.message.case === "event" && !mine.has(msg.message.value?.id ?? "")) continue;
          yield msg;
        }
      });
    },
  },
  {
    name: "checks expected_head_seq against the heads of its own appends",
    breaks: ["SESS-23"],
    profile: ["cross-server/SESS-23/expected-head-across-servers"],
    twoServers: true,
    session: (real) => {
      const heads = new Map<string, bigint>();
      return onAppends(real, async (req, append) => {
        if (req.expectedHeadSeq !== undefined) {
          const known = heads.get(req.sessionId) ?? 0n;
          if (known !== req.expectedHeadSeq) {
            throw new OmaError("HEAD_SEQ_MISMATCH", `head is ${known}, not ${req.expectedHeadSeq}`, { head_seq: known, expected_head_seq: req.expectedHeadSeq });
          }
        }
        const res = await append({ ...req, expectedHeadSeq: undefined });
        const last = appendedEvents(res).at(-1);
        if (last) heads.set(req.sessionId, last.seq);
        return res;
      });
    },
  },
  {
    name: "trusts its own memory of the leases it granted",
    breaks: ["SESS-24"],
    profile: ["cross-server/SESS-24/lease-fences-across-servers"],
    twoServers: true,
    session: (real) => {
      // Session → the epoch this server granted and has not seen released.
      const granted = new Map<string, bigint>();
      const remembering = patch(
        patch(real, "acquireLease", (orig: Orig) => async (req: never, ctx: never) => {
          const res = (await orig(req, ctx)) as { lease?: { epoch: bigint } };
          if (res.lease) granted.set((req as Append).sessionId, res.lease.epoch);
          return res;
        }),
        "releaseLease",
        (orig: Orig) => async (req: never, ctx: never) => {
          const { sessionId, epoch } = req as { sessionId: string; epoch: bigint };
          const res = await orig(req, ctx);
          if (granted.get(sessionId) === epoch) granted.delete(sessionId);
          return res;
        },
      );
      // An epoch it granted is taken as live without asking the store.
      return onAppends(remembering, (req, append) => append(req.leaseEpoch !== undefined && granted.get(req.sessionId) === req.leaseEpoch ? { ...req, leaseEpoch: undefined } : req));
    },
  },
  {
    name: "keeps idempotency keys in its own memory",
    breaks: ["SESS-25"],
    profile: ["cross-server/SESS-25/idempotent-retry-across-servers"],
    twoServers: true,
    session: (real) => {
      const seen = new Map<string, Appended>();
      return onAppends(real, async (req, append) => {
        if (!req.idempotencyKey) return append(req);
        const key = `${req.sessionId}\0${req.idempotencyKey}`;
        const hit = seen.get(key);
        if (hit) return { ...hit, duplicate: true };
        const res = await append({ ...req, idempotencyKey: "" });
        seen.set(key, res);
        return res;
      });
    },
  },
  {
    name: "ends open streams only for revocations made through this server",
    breaks: ["SEC-18"],
    profile: ["cross-server/SEC-18/tokens-across-servers"],
    twoServers: true,
    authenticator: (real, store) => {
      // Token ids revoked through this server; a revocation told by the other is not acted on.
      const mine = new Set<string>();
      const revoke = store.revoke.bind(store);
      store.revoke = async (tokenId, atMs) => {
        mine.add(tokenId);
        return revoke(tokenId, atMs);
      };
      const watchRevocation = real.watchRevocation.bind(real);
      real.watchRevocation = (principal, onRevoked) => watchRevocation(principal, () => (mine.has(principal.tokenId) ? onRevoked() : undefined));
      return real;
    },
  },
  {
    name: "answers calls for another server's sandboxes itself",
    breaks: ["SBX-17"],
    profile: ["cross-server/SBX-17/sandbox-calls-across-servers"],
    twoServers: true,
    needsSandbox: true,
    sandbox: (real) => {
      // Every call is taken as one another server forwarded: it is never sent on.
      const asForwarded = (call: Call): Call => ({ ...call, credentials: { authorization: call.credentials?.authorization, tenant: call.credentials?.tenant, forwardedBy: "itself" } });
      let s = real;
      for (const method of ["execute", "executeStream", "getSandbox", "renewSandbox", "destroySandbox"]) s = patch(s, method, (orig: Orig) => (req: never, call: never) => orig(req, asForwarded(call)));
      return s;
    },
  },
];
