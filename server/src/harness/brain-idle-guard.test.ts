import Anthropic from "@anthropic-ai/sdk";
import { startScriptedModel, assistantTurns, lastUserText, type ScriptedModel } from "@oma/conformance/scripted-model";
import { createOmaClient, type OmaSessionsClient } from "@oma/client/node";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { fromInt64 } from "./int64.js";
import { defaultModelRetryPolicy } from "./worker/model-retry-policy.js";
import { runBrain } from "./worker/brain.js";

// A brain learns of others' appends from its watch, but may not rely on it: a message that
// lands just before its guarded IDLE (and that the watch never delivers) is answered.
let app: TestApp;
let model: ScriptedModel;
beforeAll(async () => {
  model = await startScriptedModel({ script: (req) => ({ content: [{ type: "text", text: `reply ${assistantTurns(req.body)} to ${lastUserText(req.body)}` }] }) });
  app = await startTestApp({ harness: { sweepIntervalMs: 60_000 } });
});
afterAll(async () => {
  await app?.stop();
  await model?.close();
});

/** Guarded IDLE appends a brain that does not learn from a refusal would repeat without end. */
const IDLE_ATTEMPTS_BOUND = 10;

/** The session client a brain gets, with a watch that never delivers anything. */
function withDeafWatch(client: OmaSessionsClient, beforeGuardedIdle: () => Promise<void>): OmaSessionsClient {
  let interjected = false;
  let idleAttempts = 0;
  return {
    ...client,
    async *watch(_sessionId, options): AsyncGenerator<Event, void, undefined> {
      const signal = options?.signal;
      if (signal && !signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    },
    openAppender() {
      const appender = client.openAppender();
      return {
        async append(sessionId, payloads, options) {
          const idle = payloads.some((p) => p.case === "statusChanged" && p.value.status === SessionStatus.IDLE);
          if (idle && ++idleAttempts > IDLE_ATTEMPTS_BOUND) throw new Error(`${idleAttempts} IDLE appends: the brain does not read what made the guard refuse`);
          if (idle && options?.expectedHeadSeq !== undefined && !interjected) {
            interjected = true;
            await beforeGuardedIdle();
          }
          return appender.append(sessionId, payloads, options);
        },
        close: () => appender.close(),
      };
    },
  };
}

describe("the guarded IDLE", () => {
  it("refuses to idle over a message the watch did not deliver, and the brain answers it in the same turn", async () => {
    const admin = createOmaClient({ baseUrl: app.url, token: app.adminToken });
    const sessionId = `idle-guard-${randomUUID()}`;
    await admin.sessions.createSession({ sessionId, agent: { model: "scripted" } });
    const say = (text: string) => admin.sessions.emit(sessionId, { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } });
    await say("first question");
    const harnessId = `hrn_${randomUUID().replace(/-/g, "")}`;
    const { lease } = await admin.sessions.acquireLease({ sessionId, holder: harnessId });

    const end = await runBrain(
      { harnessId, sessionId, epoch: fromInt64(lease!.epoch), leaseTtlMs: 30_000 },
      {
        session: withDeafWatch(admin.sessions, async () => void (await say("second question"))),
        sandbox: app.client(SandboxService),
        model: new Anthropic({ baseURL: model.url, apiKey: "test", maxRetries: 0 }),
        workerId: "in-test",
        retry: defaultModelRetryPolicy,
        logger: createLogger({ level: "silent" }),
        sandboxTools: async () => [],
      },
    );

    expect(end).toBe(StopReason.END_TURN);
    const { events } = await admin.sessions.getEvents({ sessionId, limit: 100 });
    const texts = events.map((e) => (e.payload.case === "userMessage" || e.payload.case === "agentMessage" ? (JSON.stringify(e.payload.value.content) ?? "") : (e.payload.case ?? "")));
    const second = texts.findIndex((t) => t.includes("second question"));
    const idles = events.flatMap((e, i) => (e.payload.case === "statusChanged" && e.payload.value.status === SessionStatus.IDLE ? [i] : []));
    // One IDLE, the last event, after the answer to the message that came before it.
    expect(idles).toEqual([events.length - 1]);
    expect(texts.slice(second).some((t) => t.includes("reply 1 to second question"))).toBe(true);
  });
});
