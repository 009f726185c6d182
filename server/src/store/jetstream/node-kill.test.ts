import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customEvent, newSession, range, readAll, seqsOf, type SessionClient } from "../../session/session-test-kit.js";
import { NatsCluster, natsUnavailable } from "../../testing/nats-cluster.js";
import { startTestApp, type TestApp } from "../../testing/test-app.js";

const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the NATS node kill test: ${unavailable}`);

const EMITTERS = 32;
const EVENTS_EACH = 12;

// A cluster of its own: this test SIGKILLs one of its nodes.
describe.skipIf(unavailable !== undefined)("a NATS node SIGKILLed under two OMA servers", () => {
  let cluster: NatsCluster;
  let servers: TestApp[];
  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    servers = await Promise.all([0, 1].map(() => startTestApp({ store: cluster.url, auth: "none" })));
  });
  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
    await cluster?.stop();
  });

  it("SESS-1/SESS-3/SESS-5: 32 emitters with idempotency keys; every acknowledged event is there once, seqs gapless, both servers kept serving", async () => {
    const clients: SessionClient[] = servers.map((s) => s.client(SessionService));
    const sessions = await Promise.all(range(1, 4).map(() => newSession(clients[0]!)));
    const acknowledged = new Map<string, string>(); // key → event id
    let failedTries = 0;
    let sent = 0;
    const emitter = async (n: number) => {
      const sessionId = sessions[n % sessions.length]!;
      for (let i = 0; i < EVENTS_EACH; i++) {
        const key = `e${n}-${i}`;
        // Retried under its key until acknowledged, alternating servers.
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await clients[(n + attempt) % 2]!.emitEvent({ sessionId, event: customEvent(key), idempotencyKey: key });
            acknowledged.set(key, res.event!.id);
            break;
          } catch {
            failedTries++;
            if (attempt > 200) throw new Error(`emit ${key} never acknowledged`);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        sent++;
      }
    };
    const running = Promise.all(range(0, EMITTERS - 1).map(emitter));
    // Kill a node once a third is acknowledged, start it again once two thirds are.
    const total = EMITTERS * EVENTS_EACH;
    while (sent < total / 3) await new Promise((r) => setTimeout(r, 5));
    await cluster.kill(1);
    while (sent < (2 * total) / 3) await new Promise((r) => setTimeout(r, 5));
    cluster.restart(1);
    await running;
    expect(acknowledged.size).toBe(total);
    let stored = 0;
    for (const sessionId of sessions) {
      for (const client of clients) {
        const events = await readAll(client, sessionId);
        expect(seqsOf(events)).toEqual(range(1, events.length));
        const keys = events.map((e) => (e.payload.case === "custom" ? e.payload.value.type : ""));
        expect(new Set(keys).size).toBe(keys.length);
        for (const e of events) expect(acknowledged.get(e.payload.case === "custom" ? e.payload.value.type : "")).toBe(e.id);
      }
      stored += (await readAll(clients[0]!, sessionId)).length;
    }
    expect(stored).toBe(total);
    console.log(`node kill: ${total} events acknowledged, ${failedTries} failed tries retried under their keys`);
  }, 180_000);
});
