// Deliberately broken variants of the reference server: each wraps the real services
// with exactly one defect, and names the SPEC clauses the suite must then report.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { SandboxResourcesSchema } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { OmaError } from "../../server/src/errors/oma-error.js";
import { CONFORMANCE_MODEL_KEY } from "../src/runner/scripted-fixture.js";
import { fastLimits, type SandboxImpl, type ServiceWrappers, type SessionImpl } from "./variant-server.js";

export interface BrokenVariant extends ServiceWrappers {
  readonly name: string;
  /** Requirement ids the suite must report failed against this variant. */
  readonly breaks: readonly string[];
  /** Families or features to run against it (enough to catch the defect, kept small for time). */
  readonly profile: readonly string[];
  /** True when it needs a sandbox backend. */
  readonly needsSandbox?: boolean;
  /** True when it needs the harness part, brain workers and the scripted model. */
  readonly needsHarness?: boolean;
  /** Limits reported by GetServerInfo instead of the ones in force. */
  readonly reportedLimits?: Partial<typeof fastLimits>;
  /** Extra arguments for the brain workers (`oma worker …`). */
  readonly workerArgs?: string;
}

type Impl = Record<string, (...args: never[]) => unknown>;
const call = <T>(impl: unknown, method: string, ...args: unknown[]): T => (impl as Record<string, (...a: unknown[]) => T>)[method]!(...args);

/** Replaces one method of a service, keeping every other method real. */
function patch<S>(real: S, method: string, fn: (orig: (...a: unknown[]) => unknown) => (...a: never[]) => unknown): S {
  const orig = (real as Impl)[method]!.bind(real) as (...a: unknown[]) => unknown;
  return { ...real, [method]: fn(orig) } as S;
}

/** Re-yields a server stream through `transform` (which may drop, hold or reorder messages). */
async function* restream<T>(source: AsyncIterable<T>, transform: (msg: T, out: T[]) => void): AsyncGenerator<T> {
  for await (const msg of source) {
    const out: T[] = [];
    transform(msg, out);
    yield* out;
  }
}

export const brokenVariants: readonly BrokenVariant[] = [
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
  {
    name: "acknowledges the head instead of the appended event's seq",
    breaks: ["SESS-1"],
    profile: ["SESS-1"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { event: { seq: bigint }; duplicate: boolean };
        await new Promise((r) => setTimeout(r, 5));
        const head = ((await call<Promise<{ session: { headSeq: bigint } }>>(real, "getSession", { sessionId: (req as { sessionId: string }).sessionId }, ctx)).session.headSeq);
        return { ...res, event: { ...res.event, seq: head } };
      }),
  },
  {
    name: "keeps a client-chosen event id",
    breaks: ["SESS-1"],
    profile: ["SESS-1"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { event: { id: string } };
        const clientId = (req as { event?: { id?: string } }).event?.id;
        return clientId ? { ...res, event: { ...res.event, id: clientId } } : res;
      }),
  },
  {
    name: "stores an event without payload as a custom event",
    breaks: ["SESS-6", "SESS-4"],
    profile: ["SESS-6", "SESS-4"],
    session: (real) => {
      const fill = (e: { payload?: { case?: string } } | undefined) => (e?.payload?.case ? e : { payload: { case: "custom", value: { type: "empty" } } });
      return patch(
        patch(real, "emitEvent", (orig) => (req: never, ctx: never) => orig({ ...(req as object), event: fill((req as { event?: never }).event) }, ctx)),
        "emitEvents",
        (orig) => (req: never, ctx: never) => orig({ ...(req as object), events: (req as { events: never[] }).events.map(fill) }, ctx),
      );
    },
  },
  {
    name: "hides the live lease from GetSession",
    breaks: ["SESS-15"],
    profile: ["SESS-15"],
    session: (real) =>
      patch(real, "getSession", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { session: object };
        return { session: { ...res.session, lease: undefined } };
      }),
  },
  {
    name: "clamps lease TTLs and holders instead of rejecting them",
    breaks: ["SESS-16"],
    profile: ["SESS-16"],
    session: (real) =>
      patch(real, "acquireLease", (orig) => (req: never, ctx: never) => {
        const r = req as { holder: string; ttl?: { seconds: bigint; nanos: number } };
        const seconds = r.ttl ? Math.min(600, Math.max(1, Number(r.ttl.seconds) + r.ttl.nanos / 1e9)) : undefined;
        return orig({ ...r, holder: (r.holder || "anonymous").slice(0, 128), ttl: seconds === undefined ? undefined : { seconds: BigInt(Math.ceil(seconds)), nanos: 0 } }, ctx);
      }),
  },
  {
    name: "repairs bad session ids, labels and idempotency keys instead of rejecting them",
    breaks: ["SESS-20"],
    profile: ["SESS-20"],
    session: (real) => {
      const withCreate = patch(real, "createSession", (orig) => async (req: never, ctx: never) => {
        const r = req as { sessionId: string; labels: Record<string, string> };
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "INVALID_FIELD") throw err;
          return orig({ ...r, sessionId: r.sessionId ? `x${Buffer.from(r.sessionId).toString("hex").slice(0, 100)}` : "", labels: {} }, ctx);
        }
      });
      return patch(withCreate, "emitEvent", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.field !== "idempotency_key") throw err;
          return orig({ ...(req as object), idempotencyKey: "" }, ctx);
        }
      });
    },
  },
  {
    name: "ends a watch after the replay instead of streaming live events",
    breaks: ["SESS-12", "WIRE-7"],
    profile: ["SESS-12", "WIRE-7"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => async function* (req: never, ctx: never) {
        for await (const msg of orig(req, ctx) as AsyncIterable<{ message: { case: string } }>) {
          yield msg;
          if (msg.message.case === "caughtUp") return;
        }
      }),
  },
  {
    name: "ends a failed watch cleanly instead of with its error",
    breaks: ["SESS-13", "SESS-9"],
    profile: ["SESS-13", "SESS-9"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => async function* (req: never, ctx: never) {
        try {
          yield* orig(req, ctx) as AsyncIterable<unknown>;
        } catch {
          return;
        }
      }),
  },
  {
    name: "resumes a watch one event early (repeats the last seen event)",
    breaks: ["SESS-12"],
    profile: ["SESS-12"],
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, ctx: never) => {
        const r = req as { afterSeq: bigint };
        return orig({ ...r, afterSeq: r.afterSeq > 0n ? r.afterSeq - 1n : 0n }, ctx);
      }),
  },
  {
    name: "CreateSession overwrites a taken id",
    breaks: ["SESS-9"],
    profile: ["SESS-9"],
    session: (real) =>
      patch(real, "createSession", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "SESSION_EXISTS") throw err;
          await call(real, "deleteSession", { sessionId: (req as { sessionId: string }).sessionId }, ctx);
          return orig(req, ctx);
        }
      }),
  },
  {
    name: "returns one session more than page_size",
    breaks: ["WIRE-4"],
    profile: ["WIRE-4", "SESS-18"],
    session: (real) =>
      patch(real, "listSessions", (orig) => (req: never, ctx: never) => {
        const r = req as { pageSize: number };
        return orig({ ...r, pageSize: r.pageSize > 0 ? r.pageSize + 1 : r.pageSize }, ctx);
      }),
  },
  {
    name: "reports head_seq one behind",
    breaks: ["SESS-1"],
    profile: ["SESS-1"],
    session: (real) =>
      patch(real, "getSession", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { session: { headSeq: bigint } };
        return { session: { ...res.session, headSeq: res.session.headSeq > 0n ? res.session.headSeq - 1n : 0n } };
      }),
  },
  {
    name: "treats expected_head_seq 0 as a mismatch (proto3 optional confusion)",
    breaks: ["SESS-2"],
    profile: ["SESS-2"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => (req: never, ctx: never) => {
        if ((req as { expectedHeadSeq?: bigint }).expectedHeadSeq === 0n) throw new OmaError("HEAD_SEQ_MISMATCH", "mismatch", { expected_head_seq: 0, head_seq: 0 });
        return orig(req, ctx);
      }),
  },
  {
    name: "fills an empty user message instead of rejecting it",
    breaks: ["SESS-6"],
    profile: ["SESS-6"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => (req: never, ctx: never) => {
        const e = (req as { event?: { payload?: { case?: string; value?: { content?: unknown[] } } } }).event;
        if (e?.payload?.case === "userMessage" && e.payload.value?.content?.length === 0) {
          return orig({ ...(req as object), event: { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "(empty)" } } }] } } } }, ctx);
        }
        return orig(req, ctx);
      }),
  },
  {
    name: "reports size errors as INVALID_FIELD without their metadata",
    breaks: ["SESS-7"],
    profile: ["SESS-7"],
    session: (real) => {
      const relabel = (orig: (...a: unknown[]) => unknown) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (err instanceof OmaError && (err.reason === "EVENT_TOO_LARGE" || err.reason === "BATCH_TOO_LARGE")) throw new OmaError("INVALID_FIELD", "too big", { field: "event" });
          throw err;
        }
      };
      return patch(patch(real, "emitEvent", relabel), "emitEvents", relabel);
    },
  },
  {
    name: "answers bad slice bounds with an empty slice",
    breaks: ["SESS-11"],
    profile: ["SESS-11"],
    session: (real) =>
      patch(real, "getEvents", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || !["INVALID_FIELD", "SEQ_OUT_OF_RANGE"].includes(err.reason) || err.field === "session_id") throw err;
          return { events: [], headSeq: 0n };
        }
      }),
  },
  {
    name: "RenewLease answers without extending",
    breaks: ["SESS-10"],
    profile: ["SESS-10"],
    session: (real) =>
      patch(real, "renewLease", () => async (req: never, ctx: never) => {
        const r = req as { sessionId: string; epoch: bigint };
        const lease = ((await call<Promise<{ session: { lease?: { epoch: bigint; expireTime?: { seconds: bigint } } } }>>(real, "getSession", { sessionId: r.sessionId }, ctx)).session.lease);
        if (!lease || lease.epoch !== r.epoch) throw new OmaError("LEASE_LOST", "lost", { lease_epoch: r.epoch });
        return { lease: { ...lease, expireTime: { seconds: (lease.expireTime?.seconds ?? 0n) + 5n, nanos: 0 } } };
      }),
  },
  {
    name: "ignores the status filter of ListSessions",
    breaks: ["SESS-18"],
    profile: ["SESS-18"],
    session: (real) => patch(real, "listSessions", (orig) => (req: never, ctx: never) => orig({ ...(req as object), status: 0 }, ctx)),
  },
  {
    name: "answers a missing session_id with SESSION_NOT_FOUND",
    breaks: ["WIRE-3"],
    profile: ["WIRE-3"],
    session: (real) => {
      const guard = (orig: (...a: unknown[]) => unknown) => (req: never, ctx: never) => {
        if ((req as { sessionId: string }).sessionId === "") throw new OmaError("SESSION_NOT_FOUND", "no session", { session_id: "" });
        return orig(req, ctx);
      };
      return ["emitEvent", "emitEvents", "getEvents", "deleteSession"].reduce((impl, m) => patch(impl, m, guard), real);
    },
  },
  {
    name: "ListSandboxes accepts negative page sizes and forged tokens",
    breaks: ["WIRE-4"],
    profile: ["WIRE-4"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "listSandboxes", (orig) => async (req: never, ctx: never) => {
        const r = req as { pageSize: number };
        try {
          return await orig({ ...r, pageSize: Math.max(0, r.pageSize) }, ctx);
        } catch {
          return { sandboxes: [], nextPageToken: "" };
        }
      }),
  },
  // Sandbox variants.
  {
    name: "runs a re-sent tool call again",
    breaks: ["SBX-8"],
    profile: ["SBX-8"],
    needsSandbox: true,
    sandbox: (real) => patch(real, "execute", (orig) => (req: never, ctx: never) => orig({ ...(req as object), idempotencyKey: "" }, ctx)),
  },
  {
    name: "turns a failed tool into an RPC error",
    breaks: ["SBX-4"],
    profile: ["SBX-4"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { isError: boolean };
        if (res.isError) throw new OmaError("INTERNAL", "tool failed");
        return res;
      }),
  },
  {
    name: "does not report a timeout",
    breaks: ["SBX-5"],
    profile: ["SBX-5"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => ({ ...((await orig(req, ctx)) as object), timedOut: false })),
  },
  {
    name: "clears the truncated flag",
    breaks: ["SBX-6"],
    profile: ["SBX-6"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => ({ ...((await orig(req, ctx)) as object), truncated: false })),
  },
  {
    name: "read_file follows any path (cat through bash)",
    breaks: ["SBX-7"],
    profile: ["SBX-7"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => (req: never, ctx: never) => {
        const r = req as { name: string; input?: { path?: string } };
        if (r.name !== "read_file") return orig(req, ctx);
        return orig({ ...r, name: "bash", input: { command: `cat '${r.input?.path ?? ""}'` } }, ctx);
      }),
  },
  {
    name: "ignores memory and pids limits",
    breaks: ["SBX-9"],
    profile: ["SBX-9"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), memoryBytes: 0n, pids: 0 } }, ctx);
      }),
  },
  {
    name: "answers an unknown sandbox with INTERNAL",
    breaks: ["SBX-11"],
    profile: ["SBX-11"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (err instanceof OmaError && err.reason === "SANDBOX_NOT_FOUND") throw new Error("lookup failed");
          throw err;
        }
      }),
  },
  {
    name: "gives every sandbox full network access",
    breaks: ["SBX-12", "SEC-2"],
    profile: ["SBX-12", "SEC-2"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: object };
        return orig({ ...r, resources: { ...(r.resources ?? {}), network: { mode: 3 } } }, ctx);
      }),
  },
  {
    name: "RenewSandbox does not move the expiry",
    breaks: ["SBX-13"],
    profile: ["SBX-13"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "renewSandbox", () => (req: never, ctx: never) => call(real, "getSandbox", { sandboxId: (req as { sandboxId: string }).sandboxId }, ctx)),
  },
  {
    name: "reports a sandbox lost in a restart as READY",
    breaks: ["SBX-15"],
    profile: ["SBX-15"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "getSandbox", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { sandbox: { state: number } };
        return res.sandbox.state === 3 ? { sandbox: { ...res.sandbox, state: 2 } } : res;
      }),
  },
  {
    name: "destroying a destroyed sandbox fails",
    breaks: ["SBX-14"],
    profile: ["SBX-14"],
    needsSandbox: true,
    sandbox: (real) => {
      const destroyed = new Set<string>();
      return patch(real, "destroySandbox", (orig) => async (req: never, ctx: never) => {
        const id = (req as { sandboxId: string }).sandboxId;
        if (destroyed.has(id)) throw new OmaError("SANDBOX_NOT_FOUND", "gone", { sandbox_id: id });
        destroyed.add(id);
        return orig(req, ctx);
      });
    },
  },
  {
    name: "ListTools forgets grep",
    breaks: ["SBX-2"],
    profile: ["SBX-2"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "listTools", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { tools: { name: string }[] };
        return { ...res, tools: res.tools.filter((t) => t.name !== "grep") };
      }),
  },
  {
    name: "runs unknown tools as bash and accepts any input",
    breaks: ["SBX-3"],
    profile: ["SBX-3"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "execute", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || !["TOOL_NOT_FOUND", "INVALID_TOOL_INPUT"].includes(err.reason)) throw err;
          return { output: "", isError: true, exitCode: 1 };
        }
      }),
  },
  {
    name: "accepts out-of-range resources by falling back to defaults",
    breaks: ["SBX-1"],
    profile: ["SBX-1"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => async (req: never, ctx: never) => {
        try {
          return await orig(req, ctx);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "INVALID_FIELD") throw err;
          return orig({ ...(req as object), resources: create(SandboxResourcesSchema) }, ctx);
        }
      }),
  },
  {
    name: "drops a chunk of a resumed ExecuteStream",
    breaks: ["SBX-10"],
    profile: ["SBX-10"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "executeStream", (orig) => (req: never, ctx: never) => {
        const resumed = (req as { resumeOffset: bigint }).resumeOffset > 0n;
        let dropped = false;
        return restream(orig(req, ctx) as AsyncIterable<{ message: { case: string } }>, (msg, out) => {
          if (resumed && !dropped && msg.message.case === "chunk") dropped = true;
          else out.push(msg);
        });
      }),
  },
  {
    name: "leaks the server's environment into the sandbox",
    breaks: ["SEC-1", "SEC-2"],
    profile: ["security"],
    needsSandbox: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: { env?: Record<string, string> } };
        const leaked = { LEAKED_SECRET: process.env["OMA_CONFORMANCE_SECRET"] ?? "" };
        return orig({ ...r, resources: { ...(r.resources ?? {}), env: { ...(r.resources?.env ?? {}), ...leaked } } }, ctx);
      }),
  },
];

/** Harness variants: the brain runs in worker processes, so defects sit at the services it calls. */
const rewriteEmits = (real: SessionImpl, rewrite: (event: { payload: { case?: string; value?: unknown } }) => unknown): SessionImpl => {
  const one = (e: unknown) => rewrite(e as { payload: { case?: string; value?: unknown } }) ?? e;
  return patch(
    patch(real, "emitEvent", (orig) => (req: never, ctx: never) => orig({ ...(req as object), event: one((req as { event: unknown }).event) }, ctx)),
    "emitEvents",
    (orig) => (req: never, ctx: never) => orig({ ...(req as object), events: (req as { events: unknown[] }).events.map(one) }, ctx),
  );
};
const asCustom = (type: string) => ({ payload: { case: "custom", value: { type } } });

export const harnessVariants: readonly BrokenVariant[] = [
  {
    name: "Wake starts a second brain while one runs",
    breaks: ["HARN-1", "HARN-2"],
    profile: ["HARN-1", "HARN-2"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) =>
      patch(real, "wake", (orig) => async (req: never, ctx: never) => ({ ...((await orig(req, ctx)) as object), alreadyRunning: false })),
  },
  {
    name: "ListHarnesses lists no brain",
    breaks: ["HARN-13"],
    profile: ["HARN-13"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) => patch(real, "listHarnesses", () => async () => ({ harnesses: [], nextPageToken: "" })),
  },
  {
    name: "the log loses harness_started and model_usage",
    breaks: ["HARN-4"],
    profile: ["HARN-4"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "harnessStarted" || e.payload.case === "modelUsage" ? asCustom(e.payload.case) : undefined)),
  },
  {
    name: "the log loses user interrupts",
    breaks: ["HARN-9"],
    profile: ["HARN-9"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "userInterrupt" ? asCustom("interrupt-lost") : undefined)),
  },
  {
    name: "the log loses tool confirmations",
    breaks: ["HARN-10"],
    profile: ["HARN-10"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "toolConfirmation" ? asCustom("confirmation-lost") : undefined)),
  },
  {
    name: "the log loses custom tool results",
    breaks: ["HARN-11"],
    profile: ["HARN-11"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "customToolResult" ? asCustom("result-lost") : undefined)),
  },
  {
    name: "model errors are recorded with the retryable flag inverted",
    breaks: ["HARN-12"],
    profile: ["HARN-12"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) =>
      rewriteEmits(real, (e) => (e.payload.case === "error" ? { payload: { case: "error", value: { ...(e.payload.value as object), retryable: !(e.payload.value as { retryable: boolean }).retryable } } } : undefined)),
  },
  {
    name: "tool results lose their output and error flag",
    breaks: ["HARN-7", "HARN-8"],
    profile: ["HARN-7", "HARN-8"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) =>
      rewriteEmits(real, (e) => (e.payload.case === "toolResult" ? { payload: { case: "toolResult", value: { ...(e.payload.value as object), output: "", isError: false } } } : undefined)),
  },
  {
    name: "brains provision their sandbox before the first tool call",
    breaks: ["HARN-8"],
    profile: ["HARN-8"],
    needsSandbox: true,
    needsHarness: true,
    workerArgs: "--eager-sandbox",
  },
  {
    name: "sandboxes get the model API key in their environment",
    breaks: ["HARN-14"],
    profile: ["HARN-14"],
    needsSandbox: true,
    needsHarness: true,
    sandbox: (real) =>
      patch(real, "provision", (orig) => (req: never, ctx: never) => {
        const r = req as { resources?: { env?: Record<string, string> } };
        return orig({ ...r, resources: { ...(r.resources ?? {}), env: { ...(r.resources?.env ?? {}), LEAKED_KEY: CONFORMANCE_MODEL_KEY } } }, ctx);
      }),
  },
  {
    name: "a re-sent tool call runs again after the brain died (Execute ignores keys)",
    breaks: ["HARN-5"],
    profile: ["HARN-5"],
    needsSandbox: true,
    needsHarness: true,
    sandbox: (real) => patch(real, "execute", (orig) => (req: never, ctx: never) => orig({ ...(req as object), idempotencyKey: "" }, ctx)),
  },
];

/** MUST cases no variant breaks yet, and why; the coverage test prints them and fails on any other gap. */
export const notYetCovered: Readonly<Record<string, string>> = {
  "session/SESS-5/acked-appends-survive-kill": "acknowledging before the sync shows only under kill -9 of an out-of-process server",
  "wire/WIRE-7/unknown-method": "the RPC framework answers unknown methods; a service wrapper cannot break it",
};
