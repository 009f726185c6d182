// Broken variants written clause by clause: for each MUST, the cheapest wrong
// implementation that passed every case the suite had before, and that a case now catches.
import { create } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { OmaError } from "../../server/src/errors/oma-error.js";
import { patch, type BrokenVariant } from "./variant-kit.js";
import { fastLimits } from "./variant-server.js";

type Keyed = { sessionId: string; idempotencyKey: string };

/** Defects of WIRE-5, WIRE-6, HARN-16, HARN-19 and HARN-27 that no earlier case pressed on. */
export const clauseVariants: readonly BrokenVariant[] = [
  {
    name: "reports a max_batch_events one above the one it enforces",
    breaks: ["WIRE-5"],
    profile: ["WIRE-5"],
    reportedLimits: { maxBatchEvents: fastLimits.maxBatchEvents + 1 },
  },
  {
    name: "a refused append still takes its idempotency key",
    breaks: ["WIRE-6"],
    profile: ["WIRE-6"],
    session: (real) => {
      // The key is recorded before the append is checked, and kept when the check fails.
      const taken = new Set<string>();
      const early = (orig: (...a: unknown[]) => unknown) => async (req: never, c: never) => {
        const r = req as Keyed;
        const k = `${r.sessionId}/${r.idempotencyKey}`;
        if (r.idempotencyKey && taken.has(k)) throw new OmaError("IDEMPOTENCY_KEY_REUSED", "key already used", { session_id: r.sessionId, idempotency_key: r.idempotencyKey });
        try {
          return await orig(req, c);
        } finally {
          if (r.idempotencyKey) taken.add(k);
        }
      };
      return patch(patch(real, "emitEvent", early), "emitEvents", early);
    },
  },
  {
    name: "a refused Provision leaves a sandbox behind",
    breaks: ["WIRE-6"],
    profile: ["WIRE-6"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => async (req: never, c: never) => {
        try {
          return await orig(req, c);
        } catch (err) {
          // The environment was made before the resources were checked, and never removed.
          if (err instanceof OmaError && err.reason === "INVALID_FIELD") await orig({ ...(req as object), resources: undefined }, c);
          throw err;
        }
      }),
  },
  {
    name: "ConnectWorker repairs malformed worker ids instead of refusing them",
    breaks: ["HARN-16"],
    profile: ["HARN-16"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) =>
      patch(real, "connectWorker", (orig) => (req: never, c: never) => {
        const r = req as { workerId: string };
        const repaired = r.workerId.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "").slice(0, 128) || "anonymous";
        return orig({ ...r, workerId: repaired }, c);
      }),
  },
  {
    name: "a worker that connects again with its id keeps its earlier stream too",
    breaks: ["HARN-16"],
    profile: ["HARN-16"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) => {
      let n = 0;
      // Every connection is registered under an id of its own, so none replaces another.
      return patch(real, "connectWorker", (orig) => (req: never, c: never) => orig({ ...(req as object), workerId: `${(req as { workerId: string }).workerId}.${++n}` }, c));
    },
  },
  {
    name: "a brain does not find its sandbox in the log (provisions one per turn)",
    breaks: ["HARN-19"],
    profile: ["HARN-19"],
    needsSandbox: true,
    needsHarness: true,
    // Emulated below the brain: reads of the log show no sandbox_provisioned.
    session: (real) =>
      patch(real, "getEvents", (orig) => async (req: never, c: never) => {
        const res = (await orig(req, c)) as { events: Event[] };
        const hide = (e: Event) => (e.payload.case === "sandboxProvisioned" ? create(EventSchema, { seq: e.seq, id: e.id, createTime: e.createTime, payload: { case: "custom", value: { type: "hidden" } } }) : e);
        return { ...res, events: res.events.map(hide) };
      }),
  },
  {
    name: "a Wake lives only in the server's memory (a restarted server forgets the brains it owed)",
    breaks: ["HARN-27"],
    profile: ["HARN-27"],
    needsSandbox: true,
    needsHarness: true,
    // Fewer brain slots than the case's sessions, so that some Wakes wait for a worker when
    // the target restarts (the case's premise): with the default of 512 every brain would
    // start at once and keep its lease across the restart.
    workerArgs: "--capacity 4",
    // The dispatch records are written, but a restarted dispatcher reads none back: queued
    // Wakes, and brains that stopped during the restart, are never woken again.
    storage: (real) =>
      new Proxy(real, {
        get(target, property) {
          if (property === "listDispatches") return async function* () {};
          const value: unknown = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
  },
];
