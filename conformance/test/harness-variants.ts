// Broken variants seen by the harness cases: the brain runs in worker processes, so each
// defect sits in a service it calls (or in how its worker is started).
import { OmaError } from "../../server/src/errors/oma-error.js";
import { create } from "@bufbuild/protobuf";
import { CustomEventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { ToolKind } from "@oma/client/gen/oma/v1/session_pb.js";
import { EventOrder } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { CONFORMANCE_MODEL_KEY } from "../src/runner/scripted-fixture.js";
import { asCustom, patch, restream, rewriteEmits, type BrokenVariant } from "./variant-kit.js";

/** Defects a brain meets through HarnessService, the log or its sandboxes. */
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
    name: "work assignments carry a lease epoch one below the one acquired",
    breaks: ["HARN-17"],
    profile: ["HARN-17"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) =>
      patch(real, "connectWorker", (orig) => (req: never, ctx: never) =>
        restream(orig(req, ctx) as AsyncIterable<{ message: { case?: string; value?: { leaseEpoch: bigint } } }>, (m, out) => {
          if (m.message.case === "assignment" && m.message.value) out.push({ message: { case: "assignment", value: { ...m.message.value, leaseEpoch: m.message.value.leaseEpoch - 1n } } });
          else out.push(m);
        }),
      ),
  },
  {
    name: "ListHarnesses page tokens are bound to the filter but unsigned",
    breaks: ["WIRE-4"],
    profile: ["wire/WIRE-4/harness-paging"],
    needsSandbox: true,
    needsHarness: true,
    harness: (real) =>
      patch(real, "listHarnesses", (orig) => async (req: never, ctx: never) => {
        const r = req as { pageSize: number; pageToken: string; sessionId: string };
        if (r.pageSize < 0) return orig(req, ctx);
        const size = r.pageSize === 0 ? 50 : r.pageSize;
        let after = "";
        if (r.pageToken) {
          const t = parseJson(Buffer.from(r.pageToken, "base64url").toString()) as { a?: unknown; s?: unknown } | undefined;
          if (typeof t?.a !== "string" || t.s !== r.sessionId) throw new OmaError("INVALID_PAGE_TOKEN", "bad token", { field: "page_token" });
          after = t.a;
        }
        const all = ((await orig({ ...r, pageSize: 1000, pageToken: "" }, ctx)) as { harnesses: { harnessId: string }[] }).harnesses.filter((h) => h.harnessId > after);
        const page = all.slice(0, size);
        const next = all.length > size ? Buffer.from(JSON.stringify({ a: page.at(-1)!.harnessId, s: r.sessionId })).toString("base64url") : "";
        return { harnesses: page, nextPageToken: next };
      }),
  },
  {
    name: "a brain whose lease was taken away never hears of it and appends without its epoch",
    breaks: ["HARN-17"],
    profile: ["harness/HARN-17/stale-brain-stops-writing"],
    needsSandbox: true,
    needsHarness: true,
    // The brain is the reference's; the server plays the defect: renewals of a lost lease
    // look successful, and appends arrive without the epoch that would fence them.
    session: (real) => patch(patch(patch(real, "renewLease", answerLostRenewals), "emitEvent", dropEpoch), "emitEvents", dropEpoch),
  },
  {
    name: "a brain that gets LEASE_LOST appends again without its epoch",
    breaks: ["HARN-17"],
    profile: ["harness/HARN-17/stale-brain-stops-writing"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => {
      const again = (orig: (...a: unknown[]) => unknown) => async (req: never, call: never) => {
        try {
          return await orig(req, call);
        } catch (err) {
          if (!(err instanceof OmaError) || err.reason !== "LEASE_LOST") throw err;
          return orig({ ...(req as object), leaseEpoch: undefined }, call);
        }
      };
      return patch(patch(patch(real, "renewLease", answerLostRenewals), "emitEvent", again), "emitEvents", again);
    },
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
    name: "the RESCHEDULING status does not say whose lease ended",
    breaks: ["HARN-24"],
    profile: ["HARN-24"],
    needsSandbox: true,
    needsHarness: true,
    // Readers of the log see RESCHEDULING without ended_lease, as from a server that never records it.
    session: (real) =>
      patch(real, "watchEvents", (orig) => (req: never, ctx: never) =>
        restream(orig(req, ctx) as AsyncIterable<{ message: { case?: string; value?: unknown } }>, (m, out) => {
          const e = m.message.value as { payload?: { case?: string; value?: { endedLease?: unknown } } } | undefined;
          if (m.message.case === "event" && e?.payload?.case === "statusChanged") out.push({ message: { case: "event", value: { ...e, payload: { case: "statusChanged", value: { ...e.payload.value, endedLease: undefined } } } } });
          else out.push(m);
        }),
      ),
  },
  {
    name: "a re-sent tool call runs again after the brain died (Execute ignores keys)",
    breaks: ["HARN-5"],
    profile: ["HARN-5"],
    needsSandbox: true,
    needsHarness: true,
    sandbox: (real) => patch(real, "execute", (orig) => (req: never, ctx: never) => orig({ ...(req as object), idempotencyKey: "" }, ctx)),
  },
  {
    name: "context_compacted events are stored as custom events",
    breaks: ["HARN-21"],
    profile: ["HARN-21"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "contextCompacted" ? asCustom("context-lost") : undefined)),
  },
  {
    name: "GetEvents read forwards from the first seq shows context_compacted events as custom events (a successor cannot see them)",
    breaks: ["HARN-22"],
    profile: ["HARN-22"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) =>
      patch(real, "getEvents", (orig) => async (req: never, ctx: never) => {
        const res = (await orig(req, ctx)) as { events: { payload: { case?: string } }[] };
        const r = req as { afterSeq: bigint; order: EventOrder };
        if (r.afterSeq !== 0n || r.order === EventOrder.DESCENDING) return res;
        const hidden = { case: "custom", value: create(CustomEventSchema, { type: "context-hidden" }) };
        return { ...res, events: res.events.map((e) => (e.payload.case === "contextCompacted" ? { ...e, payload: hidden } : e)) };
      }),
  },
  {
    name: "session_history calls are stored as sandbox tool calls",
    breaks: ["HARN-23"],
    profile: ["HARN-23"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) =>
      rewriteEmits(real, (e) =>
        e.payload.case === "toolUse" && (e.payload.value as { kind: ToolKind }).kind === ToolKind.HARNESS ? { payload: { case: "toolUse", value: { ...(e.payload.value as object), kind: ToolKind.SANDBOX } } } : undefined,
      ),
  },
  {
    name: "CreateSession drops the agent's context settings instead of validating them",
    breaks: ["HARN-21"],
    profile: ["harness/HARN-21/invalid-context-settings"],
    needsHarness: true,
    session: (real) =>
      patch(real, "createSession", (orig) => (req: never, ctx: never) => {
        const r = req as { agent?: object };
        return orig({ ...r, ...(r.agent ? { agent: { ...r.agent, context: undefined } } : {}) }, ctx);
      }),
  },
  {
    name: "error events are stored as custom events",
    breaks: ["HARN-12", "HARN-21"],
    profile: ["HARN-12", "harness/HARN-21/none-ends-at-the-window"],
    needsSandbox: true,
    needsHarness: true,
    session: (real) => rewriteEmits(real, (e) => (e.payload.case === "error" ? asCustom("error-lost") : undefined)),
  },
];

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const dropEpoch = (orig: (...a: unknown[]) => unknown) => (req: never, call: never) => orig({ ...(req as object), leaseEpoch: undefined }, call);

/** A renewal of a lease that is gone is answered as if it had been renewed. */
const answerLostRenewals = (orig: (...a: unknown[]) => unknown) => async (req: never, call: never) => {
  try {
    return await orig(req, call);
  } catch (err) {
    if (!(err instanceof OmaError) || err.reason !== "LEASE_LOST") throw err;
    const r = req as { epoch: bigint };
    return { lease: { epoch: r.epoch, holder: "stale", expireTime: { seconds: BigInt(Math.floor(Date.now() / 1000) + 30), nanos: 0 } }, sessionToken: "" };
  }
};
