import type { OmaSessionsClient } from "@oma/client";
import { createOmaClient } from "@oma/client/node";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../testing/test-app.js";
import { fromInt64 } from "../int64.js";
import { countedAppender } from "../testing/counted-appender.js";
import { FencedError } from "./brain-errors.js";
import { SessionWriter, type PayloadInit } from "./session-writer.js";

// The writer's guarantees hold whether its appends go over an AppendEvents stream or, where
// the server does not serve one, as EmitEvents calls.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ harness: { sweepIntervalMs: 60_000 } });
});
afterAll(async () => app?.stop());

const custom = (i: number): PayloadInit => ({ case: "custom", value: { type: "writer-test", data: { i } } });
const numbers = (events: readonly Event[]) => events.map((e) => (e.payload.case === "custom" ? e.payload.value.data?.["i"] : e.payload.case));

async function leasedSession(client: OmaSessionsClient): Promise<{ sessionId: string; epoch: number }> {
  const sessionId = `writer-${randomUUID()}`;
  await client.createSession({ sessionId, agent: { model: "m" } });
  const { lease } = await client.acquireLease({ sessionId, holder: `h-${randomUUID()}` });
  return { sessionId, epoch: fromInt64(lease!.epoch) };
}

for (const path of ["an AppendEvents stream", "EmitEvents calls (no AppendEvents on the server)"] as const) {
  describe(`SessionWriter over ${path}`, () => {
    const streamed = path === "an AppendEvents stream";
    const clientFor = () => countedAppender(createOmaClient({ baseUrl: app.url, token: app.adminToken }).sessions, streamed);

    it("appends in call order behind the barrier, hands each append's events to onAppended, and writes a repeated key once", async () => {
      const { client, calls } = clientFor();
      const { sessionId, epoch } = await leasedSession(client);
      const heard: Event[] = [];
      const writer = new SessionWriter(client, sessionId, epoch, (events) => heard.push(...events));
      const first = writer.emit([custom(1), custom(2)], "k-1");
      writer.setBarrier(first);
      const rest = await Promise.all([writer.emit([custom(3)], "k-3"), writer.emit([custom(4)], "k-4"), writer.emit([custom(1), custom(2)], "k-1")]);
      await writer.close();
      expect((await first)!.map((e) => e.seq)).toEqual([1n, 2n]);
      expect(rest.map((r) => r!.map((e) => e.seq))).toEqual([[3n], [4n], [1n, 2n]]);
      expect(heard.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 1n, 2n]);
      const { events } = await client.getEvents({ sessionId });
      expect(numbers(events)).toEqual([1, 2, 3, 4]);
      // Four appends: one stream, or (after the one refused stream) four EmitEvents calls.
      expect(calls).toEqual(streamed ? { streams: 1, emits: 0 } : { streams: 1, emits: 4 });
    });

    it("returns undefined for a guarded append over a moved head, writes nothing of it, and goes on appending", async () => {
      const { client } = clientFor();
      const { sessionId, epoch } = await leasedSession(client);
      const writer = new SessionWriter(client, sessionId, epoch);
      await writer.emit([custom(1)], "k-1");
      expect(await writer.emit([custom(2)], "k-2", { expectedHeadSeq: 0 })).toBeUndefined();
      expect((await writer.emit([custom(3)], "k-3", { expectedHeadSeq: 1 }))!.map((e) => e.seq)).toEqual([2n]);
      await writer.close();
      expect(numbers((await client.getEvents({ sessionId })).events)).toEqual([1, 3]);
    });

    it("throws FencedError once another holder took the lease, and writes nothing", async () => {
      const { client } = clientFor();
      const { sessionId, epoch } = await leasedSession(client);
      const writer = new SessionWriter(client, sessionId, epoch);
      await writer.emit([custom(1)], "k-1");
      await client.releaseLease({ sessionId, epoch: BigInt(epoch) });
      await client.acquireLease({ sessionId, holder: "successor" });
      await expect(writer.emit([custom(2)], "k-2")).rejects.toBeInstanceOf(FencedError);
      await writer.close();
      expect(numbers((await client.getEvents({ sessionId })).events)).toEqual([1]);
    });
  });
}
