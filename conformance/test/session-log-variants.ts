// Broken variants of the session log: slices, watches, appends, keys, leases, listing.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { createHash } from "node:crypto";
import { OmaError } from "../../server/src/errors/oma-error.js";
import { fastLimits } from "./variant-server.js";
import { call, patch, restream, type BrokenVariant } from "./variant-kit.js";

/** Defects in what the log stores and streams. */
export const sessionLogVariants: readonly BrokenVariant[] = [
  {
    name: "reports a zero output limit in GetServerInfo",
    breaks: ["WIRE-9"],
    profile: ["WIRE-9"],
    reportedLimits: { maxOutputBytes: 0 },
  },
  {
    name: "never releases a cancelled watch (and caps open watches at 64)",
    breaks: ["WIRE-7"],
    profile: ["wire/WIRE-7/cancel-mid-stream"],
    session: (real) => {
      let open = 0;
      return patch(real, "watchEvents", (orig) => (req: never, ctx: never) => {
        if (++open > 64) throw new OmaError("LIMIT_REACHED", "too many watches", { limit: "watches", limit_count: 64 });
        return orig(req, ctx);
      });
    },
  },
  {
    name: "drops the last event of every slice",
    breaks: ["SESS-11"],
    profile: ["session"],
    session: (real) =>
      patch(real, "getEvents", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { events: unknown[] };
        return res.events.length > 1 ? { ...res, events: res.events.slice(0, -1) } : res;
      }),
  },
  {
    name: "reorders a watch (swaps each pair of events)",
    breaks: ["SESS-12"],
    profile: ["session"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, ctx: never) => {
        let held: { message: { case: string } } | undefined;
        return restream(orig(req, ctx) as AsyncIterable<{ message: { case: string } }>, (msg, out) => {
          if (msg.message.case !== "event") {
            if (held) out.push(held);
            held = undefined;
            out.push(msg);
          } else if (held) {
            out.push(msg, held);
            held = undefined;
          } else held = msg;
        });
      }),
  },
  {
    name: "never sends caught_up",
    breaks: ["SESS-12"],
    profile: ["session"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, ctx: never) =>
        restream(orig(req, ctx) as AsyncIterable<{ message: { case: string } }>, (msg, out) => {
          if (msg.message.case !== "caughtUp") out.push(msg);
        }),
      ),
  },
  {
    name: "never sends heartbeats",
    breaks: ["SESS-13"],
    profile: ["SESS-13"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, ctx: never) =>
        restream(orig(req, ctx) as AsyncIterable<{ message: { case: string } }>, (msg, out) => {
          if (msg.message.case !== "heartbeat") out.push(msg);
        }),
      ),
  },
  {
    name: "ignores expected_head_seq",
    breaks: ["SESS-2"],
    profile: ["SESS-2", "SESS-3"],
    session: (real) => {
      const strip = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => orig({ ...(req as object), expectedHeadSeq: undefined }, ctx);
      return patch(patch(real, "emitEvent", strip), "emitEvents", strip);
    },
  },
  {
    name: "forgets idempotency keys",
    breaks: ["SESS-3"],
    profile: ["SESS-3", "SESS-19"],
    session: (real) => {
      const strip = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => orig({ ...(req as object), idempotencyKey: "" }, ctx);
      return patch(patch(real, "emitEvent", strip), "emitEvents", strip);
    },
  },
  {
    name: "tells retries apart by their bytes (map entry order counts)",
    breaks: ["SESS-3"],
    profile: ["SESS-3"],
    session: (real) => {
      // The key is made to cover the exact encoding, as a byte-level fingerprint would.
      const byBytes = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => {
        const r = req as { idempotencyKey: string; event?: Event; events?: Event[] };
        if (!r.idempotencyKey) return orig(req, ctx);
        const bytes = (r.events ?? (r.event ? [r.event] : [])).map((e) => Buffer.from(toBinary(EventSchema, e)).toString("hex")).join("");
        return orig({ ...r, idempotencyKey: `${r.idempotencyKey}.${createHash("sha256").update(bytes).digest("hex").slice(0, 8)}` }, ctx);
      };
      return patch(patch(real, "emitEvent", byBytes), "emitEvents", byBytes);
    },
  },
  {
    name: "remembers idempotency keys in memory only (forgotten after a restart)",
    breaks: ["SESS-3"],
    profile: ["SESS-3"],
    session: (real) => {
      const seen = new Map<string, unknown>();
      const remember = (orig: (...a: unknown[]) => unknown) => async (req: never, ctx: never) => {
        const r = req as { sessionId: string; idempotencyKey: string };
        if (!r.idempotencyKey) return orig(req, ctx);
        const k = `${r.sessionId}/${r.idempotencyKey}`;
        const known = seen.get(k);
        if (known) return { ...(known as object), duplicate: true };
        const res = await orig({ ...r, idempotencyKey: "" }, ctx);
        seen.set(k, res);
        return res;
      };
      return patch(patch(real, "emitEvent", remember), "emitEvents", remember);
    },
  },
  {
    name: "numbers lease epochs from 1 again after a restart",
    breaks: ["SESS-10"],
    profile: ["*/epochs-grow-across-restart"],
    session: (real) => {
      // Epochs as shown = real epoch minus the first one this process saw, per session.
      const base = new Map<string, bigint>();
      const shown = (sessionId: string, epoch: bigint) => {
        if (!base.has(sessionId)) base.set(sessionId, epoch - 1n);
        return epoch - base.get(sessionId)!;
      };
      const realEpoch = (sessionId: string, epoch: bigint) => epoch + (base.get(sessionId) ?? 0n);
      const withAcquire = patch(real, "acquireLease", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { lease: { epoch: bigint } };
        return { lease: { ...res.lease, epoch: shown((req as { sessionId: string }).sessionId, res.lease.epoch) } };
      });
      const translate = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => {
        const r = req as { sessionId: string; epoch: bigint };
        return orig({ ...r, epoch: realEpoch(r.sessionId, r.epoch) }, ctx);
      };
      return patch(patch(withAcquire, "releaseLease", translate), "renewLease", translate);
    },
  },
  {
    name: "accepts a stale lease epoch",
    breaks: ["SESS-10"],
    profile: ["session.leases"],
    session: (real) => {
      const strip = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => orig({ ...(req as object), leaseEpoch: undefined }, ctx);
      return patch(patch(real, "emitEvent", strip), "emitEvents", strip);
    },
  },
  {
    name: "lets a second holder steal a live lease",
    breaks: ["SESS-10"],
    profile: ["session.leases"],
    session: (real) =>
      patch(real, "acquireLease", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "LEASE_HELD") throw err;
          await call(real, "releaseLease", { sessionId: (req as { sessionId: string }).sessionId, epoch: BigInt(err.metadata["epoch"] ?? "0") }, ctx);
          return orig(req, ctx);
        }
      }),
  },
  {
    name: "writes a batch event by event (not atomic)",
    breaks: ["SESS-4"],
    profile: ["SESS-4"],
    session: (real) =>
      patch(real, "emitEvents", () => async (req: never, ctx: never) => {
        const r = req as { sessionId: string; events: unknown[] };
        const events: unknown[] = [];
        for (const event of r.events) events.push(((await call(real, "emitEvent", { sessionId: r.sessionId, event }, ctx)) as { event: unknown }).event);
        return { events, duplicate: false };
      }),
  },
  {
    name: "rejects an event of exactly max_event_bytes (off by one)",
    breaks: ["SESS-7"],
    profile: ["SESS-7"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => (req: never, ctx: never) => {
        const event = (req as { event?: Parameters<typeof toBinary>[1] }).event;
        const size = event ? toBinary(EventSchema, create(EventSchema, { payload: (event as never as { payload: never }).payload })).length : 0;
        if (size >= fastLimits.maxEventBytes) {
          throw new OmaError("EVENT_TOO_LARGE", "too large", { size_bytes: size, limit_bytes: fastLimits.maxEventBytes, index: 0 });
        }
        return orig(req, ctx);
      }),
  },
  {
    name: "DeleteSession does nothing",
    breaks: ["SESS-19"],
    profile: ["SESS-19"],
    session: (real) => patch(real, "deleteSession", () => async () => ({})),
  },
  {
    name: "answers an unknown session with the wrong code and no ErrorInfo",
    breaks: ["SESS-9", "WIRE-3"],
    profile: ["SESS-9", "WIRE-3"],
    session: (real) =>
      patch(real, "getSession", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch {
          throw new ConnectError("no such session", Code.FailedPrecondition);
        }
      }),
  },
  {
    name: "accepts forged page tokens and negative page sizes",
    breaks: ["WIRE-4"],
    profile: ["WIRE-4"],
    session: (real) =>
      patch(real, "listSessions", (orig) => async (req: never, ctx: never) => {
        const r = req as { pageSize: number; pageToken: string };
        try {
          return await orig({ ...r, pageSize: Math.max(0, r.pageSize) }, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "INVALID_PAGE_TOKEN") throw err;
          return orig({ ...r, pageSize: Math.max(0, r.pageSize), pageToken: "" }, ctx);
        }
      }),
  },
  {
    name: "lists sessions oldest first",
    breaks: ["SESS-18"],
    profile: ["SESS-18"],
    session: (real) =>
      patch(real, "listSessions", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { sessions: unknown[] };
        return { ...res, sessions: [...res.sessions].reverse() };
      }),
  },
  {
    name: "reports the status of the first status_changed, not the last",
    breaks: ["SESS-14"],
    profile: ["SESS-14"],
    session: (real) =>
      patch(real, "getSession", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { session?: { status: number; stopReason: number } };
        const events = (await call<Promise<{ events: { payload: { case: string; value: { status: number; stopReason: number } } }[] }>>(real, "getEvents", { ...(req as object), limit: 1000 }, ctx)).events;
        const first = events.find((e) => e.payload.case === "statusChanged");
        return first && res.session ? { session: { ...res.session, status: first.payload.value.status, stopReason: first.payload.value.stopReason } } : res;
      }),
  },
  {
    name: "accepts appends to a terminated session",
    breaks: ["SESS-8"],
    profile: ["SESS-8"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => async (req: never, ctx: never) => {
        const r = req as { event?: { payload?: { case?: string; value?: { status?: number } } } };
        // Swallows the terminating status so the session never terminates.
        if (r.event?.payload?.case === "statusChanged" && r.event.payload.value?.status === 4) {
          return orig({ ...(req as object), event: { payload: { case: "custom", value: { type: "terminated-swallowed" } } } }, ctx);
        }
        return orig(req, ctx);
      }),
  },
  {
    name: "returns the wrong GetEvents limit (ignores the cap)",
    breaks: ["SESS-11"],
    profile: ["SESS-11"],
    session: (real) =>
      patch(real, "getEvents", (orig) => async (req: never, ctx: never) => {
        const r = req as { limit: number };
        if (r.limit > fastLimits.maxPageSize) {
          const a = (await orig({ ...r, limit: fastLimits.maxPageSize }, ctx)) as { events: { seq: bigint }[] };
          const last = a.events.at(-1)?.seq ?? 0n;
          const b = (await orig({ ...r, afterSeq: last, limit: 1 }, ctx)) as { events: unknown[] };
          return { ...a, events: [...a.events, ...b.events] };
        }
        return orig(req, ctx);
      }),
  },
];
