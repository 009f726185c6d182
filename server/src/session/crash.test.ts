import { reasonOf } from "@oma/client";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { CLI_PATH, startServerProcess, type ServerProcess } from "../testing/server-process.js";
import { tempDir } from "../testing/temp-dir.js";
import { range, readAll, seqsOf, textEvent, uniqueSessionId, type SessionClient } from "./session-test-kit.js";

/** Reasons that mean the request itself is wrong: retrying cannot help and the test must fail. */
const fatalReasons = new Set(["IDEMPOTENCY_KEY_REUSED", "INVALID_FIELD", "SESSION_NOT_FOUND", "HEAD_SEQ_MISMATCH"]);

if (!existsSync(CLI_PATH)) console.warn(`!!! SKIPPED the crash test because ${CLI_PATH} is missing: run tsc -b first`);

describe.skipIf(!existsSync(CLI_PATH))("SESS-5: acknowledged events survive kill -9 of the server (child process, real LevelDB)", () => {
  it("32 emitters with idempotency keys, the server SIGKILLed 4 times: every ack present, seqs gapless, nothing twice", async () => {
    const dir = await tempDir("oma-crash-");
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess(dir.path);
      let client: SessionClient = server.client(SessionService);
      const sessions = await Promise.all(range(1, 4).map(async () => (await client.createSession({ sessionId: uniqueSessionId("crash"), agent: { model: "m" } })).session!.sessionId));
      const emitters = 32;
      const perEmitter = 30;
      /** Every acknowledgement: session, seq, event id, content. */
      const acks: { sessionId: string; seq: bigint; id: string; text: string }[] = [];
      // Generous: a loaded CI machine may restart the server slowly; a hang still fails.
      const deadline = Date.now() + 50_000;

      const emitter = async (e: number) => {
        const sessionId = sessions[e % sessions.length]!;
        for (let i = 0; i < perEmitter; i++) {
          const text = `${e}:${i}`;
          let lastError: unknown;
          for (;;) {
            if (Date.now() > deadline) throw new Error(`emitter ${e} gave up on ${text}: ${String(lastError)}`);
            try {
              const res = await client.emitEvent({ sessionId, event: textEvent(text), idempotencyKey: text }, { timeoutMs: 5000 });
              acks.push({ sessionId, seq: res.event!.seq, id: res.event!.id, text });
              break;
            } catch (err) {
              if (fatalReasons.has(reasonOf(err))) throw err;
              lastError = err;
              await sleep(10 + Math.random() * 20); // the server is down: retry the same key
            }
          }
        }
      };
      const running = Promise.all(range(0, emitters - 1).map(emitter));
      const progressAtKill: number[] = [];
      // Kills are placed by progress, at random points spread over the workload, so they
      // land while appends flow however fast or slow the machine is.
      const kills = 4;
      const total = emitters * perEmitter;
      for (let kill = 0; kill < kills; kill++) {
        const target = Math.floor(((kill + 0.25 + Math.random() * 0.5) / (kills + 1)) * total);
        while (acks.length < target) {
          if (Date.now() > deadline) throw new Error(`only ${acks.length} of ${total} appends acknowledged before kill ${kill + 1}`);
          await sleep(5);
        }
        progressAtKill.push(acks.length);
        await server.kill();
        server = await startServerProcess(dir.path);
        client = server.client(SessionService);
      }
      await running;

      // The kills happened while appends were flowing, not before or after all of them.
      expect(progressAtKill[0]).toBeGreaterThan(0);
      expect(progressAtKill.at(-1)).toBeLessThan(emitters * perEmitter);
      expect(acks).toHaveLength(emitters * perEmitter);
      for (const sessionId of sessions) {
        const log = await readAll(client, sessionId);
        const texts = log.map((ev) => (ev.payload.case === "userMessage" && ev.payload.value.content[0]?.block.case === "text" ? ev.payload.value.content[0].block.value.text : ""));
        expect(seqsOf(log)).toEqual(range(1, log.length));
        expect(new Set(texts).size).toBe(log.length);
        const mine = acks.filter((a) => a.sessionId === sessionId);
        expect(log.length).toBe(mine.length);
        const bySeq = new Map(log.map((ev, k) => [ev.seq, { id: ev.id, text: texts[k] }]));
        for (const ack of mine) expect(bySeq.get(ack.seq)).toEqual({ id: ack.id, text: ack.text });
      }
    } finally {
      await server?.kill();
      await dir.remove();
    }
  }, 90_000);
});
