import { createOmaClient } from "@oma/client/node";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../../testing/server-process.js";
import { tempDir } from "../../testing/temp-dir.js";
import { fromInt64 } from "../int64.js";
import { countedAppender } from "../testing/counted-appender.js";
import { SessionWriter } from "./session-writer.js";

// A brain's AppendEvents stream broken by a SIGKILL of the server, with appends in flight:
// once the server is back on the same data, every append is in the log once, in call order.
const APPENDS = 300;
/** Appends sent and not yet answered at once, so some are in flight when the server dies. */
const IN_FLIGHT = 20;
const KILL_AFTER = 100;

const servers: ServerProcess[] = [];
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterAll(async () => {
  for (const s of servers) await s.stop();
  await dir?.remove();
});

describe("SessionWriter across a SIGKILL of the server", () => {
  it("loses no append and writes none twice: unanswered ones are resent under their keys, in order", async () => {
    dir = await tempDir("oma-writer-restart-");
    let server = await startServerProcess(dir.path, { args: ["--workers", "0"] });
    servers.push(server);
    const port = Number(new URL(server.url).port);
    const { client, calls } = countedAppender(createOmaClient({ baseUrl: server.url, token: server.adminToken }).sessions);
    const sessionId = `writer-restart-${randomUUID()}`;
    await client.createSession({ sessionId, agent: { model: "m" } });
    // A lease long enough to outlast the restart: the writer is never fenced here.
    const { lease } = await client.acquireLease({ sessionId, holder: "writer-test", ttl: { seconds: 120n } });
    const writer = new SessionWriter(client, sessionId, fromInt64(lease!.epoch));

    const answers: Promise<Event[] | undefined>[] = [];
    for (let i = 1; i <= APPENDS; i++) {
      answers.push(writer.emit([{ case: "custom", value: { type: "writer-restart", data: { i } } }], `k-${i}`));
      if (answers.length > IN_FLIGHT) await answers[answers.length - 1 - IN_FLIGHT];
      if (i === KILL_AFTER) {
        await server.kill();
        server = await startServerProcess(dir.path, { args: ["--workers", "0"], port });
        servers.push(server);
      }
    }
    const acked = await Promise.all(answers);
    await writer.close();

    const { events } = await client.getEvents({ sessionId, limit: 1000 });
    expect(events.map((e) => (e.payload.case === "custom" ? e.payload.value.data?.["i"] : undefined))).toEqual(Array.from({ length: APPENDS }, (_, i) => i + 1));
    // Each append was answered with the event the log holds for it.
    expect(acked.map((a) => a?.map((e) => e.seq))).toEqual(events.map((e) => [e.seq]));
    console.info(`${APPENDS} appends across a server SIGKILL: ${calls.streams} AppendEvents streams, ${calls.emits} EmitEvents resends`);
    // The appends went over streams (one before the kill, more after it), not one call each.
    expect(calls.streams).toBeGreaterThanOrEqual(2);
    expect(calls.emits).toBeLessThan(APPENDS / 2);
  }, 60_000);
});
