// Broken variants of the session rules: validation, bounds, status, paging, errors.
import { OmaError } from "../../server/src/errors/oma-error.js";
import { call, patch, type BrokenVariant } from "./variant-kit.js";

/** Defects in how requests are checked and answered. */
export const sessionRuleVariants: readonly BrokenVariant[] = [
  {
    name: "drops the idempotency keys of streamed appends",
    breaks: ["SESS-22"],
    profile: ["SESS-22"],
    session: (real) =>
      patch(real, "appendEvents", (orig) => (requests: AsyncIterable<object>, ctx: never) =>
        orig(
          (async function* () {
            for await (const request of requests) yield { ...request, idempotencyKey: "" };
          })(),
          ctx,
        ),
      ),
  },
  {
    name: "answers a refused streamed append with an empty ack and reads on",
    breaks: ["SESS-22"],
    profile: ["SESS-22"],
    session: (real) =>
      patch(real, "appendEvents", () => async function* (requests: AsyncIterable<unknown>, ctx: never) {
        for await (const request of requests) {
          try {
            yield await call<Promise<unknown>>(real, "emitEvents", request, ctx);
          } catch {
            yield { events: [], duplicate: false };
          }
        }
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
    name: "hands out event ids without their evt_ prefix",
    breaks: ["WIRE-8"],
    profile: ["WIRE-8"],
    session: (real) =>
      patch(real, "emitEvent", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { event: { id: string } };
        return { ...res, event: { ...res.event, id: res.event.id.replace(/^evt_/, "") } };
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
    name: "a watch ignores its deadline (runs on after it passed)",
    breaks: ["WIRE-7"],
    profile: ["wire/WIRE-7/deadline-exceeded"],
    // Over gRPC the transport ends the call at its deadline whatever the handler does.
    protocol: "connect",
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, call: never) =>
        // The handler never hears that the call ended: it streams heartbeats for ever.
        orig(req, { ...(call as object), signal: new AbortController().signal }),
      ),
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
    name: "ListSessions page tokens are not bound to the filters (a reused token continues its own listing)",
    breaks: ["WIRE-4"],
    profile: ["wire/WIRE-4/bad-page-size-and-tokens"],
    session: (real) =>
      patch(real, "listSessions", (orig) => async (req: never, ctx: never) => {
        // The outer token carries the filters it was issued for, so any filters may reuse it.
        type Query = { pageToken: string; labels: Record<string, string>; status: number };
        let query = req as Query;
        if (query.pageToken) {
          try {
            const t = JSON.parse(Buffer.from(query.pageToken, "base64url").toString()) as { t: string; labels: Record<string, string>; status: number };
            query = { ...query, pageToken: t.t, labels: t.labels, status: t.status };
          } catch {
            throw new OmaError("INVALID_PAGE_TOKEN", "bad token", { field: "page_token" });
          }
        }
        const res = (await orig(query, ctx)) as { nextPageToken: string };
        const next = res.nextPageToken && Buffer.from(JSON.stringify({ t: res.nextPageToken, labels: query.labels, status: query.status })).toString("base64url");
        return { ...res, nextPageToken: next };
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
];
